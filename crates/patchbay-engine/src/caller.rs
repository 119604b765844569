//! Who an end-user operation acts for: the project, the stored user and
//! the user token that vouched for them (whose permissions limit what the
//! operation may see). The server authenticates; the engine only trusts.

use patchbay_core::user_token::{ConfigurationRef, VerifiedToken};
use patchbay_store::{ConnectedUser, CredentialRecord, Project};

#[derive(Debug, Clone)]
pub struct Caller {
    pub project: Project,
    pub user: ConnectedUser,
    pub token: VerifiedToken,
}

impl Caller {
    /// `credential` as this caller's token may see it: only the configurations it allows
    /// (the default first when allowed), or `None` when it allows none of them.
    pub fn visible(
        &self,
        integration_type: &str,
        mut credential: CredentialRecord,
    ) -> Option<CredentialRecord> {
        if self.token.permissions.is_none() {
            // The common case, on every proxied call: a token that may do all its user may.
            return Some(credential);
        }
        let allowed: Vec<bool> = (credential.configurations.iter())
            .map(|configuration| {
                self.token.allows_configuration(
                    integration_type,
                    credential.id,
                    ConfigurationRef {
                        id: configuration.id,
                        external_id: credential.configuration_external_id(configuration),
                    },
                )
            })
            .collect();
        let mut allowed = allowed.into_iter();
        credential
            .configurations
            .retain(|_| allowed.next().unwrap_or(false));
        (!credential.configurations.is_empty()).then_some(credential)
    }
}
