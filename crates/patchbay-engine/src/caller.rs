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
        let labels: Vec<Option<String>> = credential
            .configurations
            .iter()
            .map(|c| credential.configuration_external_id(c).map(str::to_owned))
            .collect();
        let mut allowed = labels.into_iter();
        let (token, id) = (&self.token, credential.id);
        credential.configurations.retain(|configuration| {
            let external_id = allowed.next().flatten();
            token.allows_configuration(
                integration_type,
                id,
                ConfigurationRef {
                    id: configuration.id,
                    external_id: external_id.as_deref(),
                },
            )
        });
        (!credential.configurations.is_empty()).then_some(credential)
    }
}
