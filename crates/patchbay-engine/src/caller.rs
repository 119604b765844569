//! Who an end-user operation acts for: the project, the stored user and
//! the user token that vouched for them (whose permissions limit what the
//! operation may see). The server authenticates; the engine only trusts.

use patchbay_core::user_token::VerifiedToken;
use patchbay_store::{ConnectedUser, Project};

#[derive(Debug, Clone)]
pub struct Caller {
    pub project: Project,
    pub user: ConnectedUser,
    pub token: VerifiedToken,
}
