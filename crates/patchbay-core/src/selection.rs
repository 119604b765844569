//! Which connected account an operation acts as (docs/api.md, "Account selection").
//!
//! The caller hands over the accounts of *one user, one project and one
//! integration*, oldest first. Anything outside that set is simply absent,
//! which is why another user's credential id gets exactly the answer of an id
//! that does not exist.

use uuid::Uuid;

/// What selection needs to know about an account.
pub trait Account {
    fn id(&self) -> Uuid;
    fn external_id(&self) -> Option<&str>;
    /// `VALID` (usable without reconnecting).
    fn is_valid(&self) -> bool;
}

impl<T: Account> Account for &T {
    fn id(&self) -> Uuid {
        (*self).id()
    }

    fn external_id(&self) -> Option<&str> {
        (*self).external_id()
    }

    fn is_valid(&self) -> bool {
        (*self).is_valid()
    }
}

/// What the operation will do with the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Read it, call its API, run a workflow as it, change its settings.
    Use,
    /// Remove it. Never done by guessing: with two or more accounts a
    /// selection is always required.
    Destroy,
}

/// Project settings that change the rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SelectionPolicy {
    /// `requireExplicitCredential`: with two or more accounts, every
    /// operation needs a selection.
    pub require_explicit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionError {
    /// The selection names no account in the set.
    NotFound,
    /// The user has no account for this integration.
    NoAccount,
    /// Several accounts and no selection where one is required; lists them,
    /// oldest first.
    SelectionRequired(Vec<Uuid>),
}

/// How a selection value names an account: a credential id, `ext:<id>`, or a
/// plain external id.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector<'a> {
    /// A UUID: the credential id, or failing that an external id that
    /// happens to look like one.
    IdOrExternal(Uuid, &'a str),
    External(&'a str),
}

impl<'a> Selector<'a> {
    fn parse(value: &'a str) -> Self {
        if let Some(external) = value.strip_prefix("ext:") {
            return Self::External(external);
        }
        match Uuid::parse_str(value) {
            Ok(id) => Self::IdOrExternal(id, value),
            Err(_) => Self::External(value),
        }
    }

    fn find<'b, A: Account>(&self, accounts: &'b [A]) -> Option<&'b A> {
        let by_external =
            |external: &str| accounts.iter().find(|a| a.external_id() == Some(external));
        match self {
            Self::IdOrExternal(id, raw) => accounts
                .iter()
                .find(|a| a.id() == *id)
                .or_else(|| by_external(raw)),
            Self::External(external) => by_external(external),
        }
    }
}

/// Picks the account an operation acts as.
///
/// `accounts` must be the user's accounts for one integration, oldest first.
/// `selection` is the `X-Paragon-Credential` header or `selectedCredentialId`
/// option; an empty value counts as none.
pub fn select<'a, A: Account>(
    accounts: &'a [A],
    selection: Option<&str>,
    operation: Operation,
    policy: SelectionPolicy,
) -> Result<&'a A, SelectionError> {
    if let Some(value) = selection.map(str::trim).filter(|v| !v.is_empty()) {
        return Selector::parse(value)
            .find(accounts)
            .ok_or(SelectionError::NotFound);
    }
    if accounts.is_empty() {
        return Err(SelectionError::NoAccount);
    }
    if accounts.len() > 1 && (operation == Operation::Destroy || policy.require_explicit) {
        return Err(SelectionError::SelectionRequired(
            accounts.iter().map(A::id).collect(),
        ));
    }
    Ok(default_account(accounts).unwrap_or(&accounts[0]))
}

/// The default ("first") account: the oldest `VALID` one, else the oldest.
pub fn default_account<A: Account>(accounts: &[A]) -> Option<&A> {
    accounts
        .iter()
        .find(|a| a.is_valid())
        .or_else(|| accounts.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone)]
    struct Acct {
        id: Uuid,
        external: Option<&'static str>,
        valid: bool,
    }

    impl Account for Acct {
        fn id(&self) -> Uuid {
            self.id
        }
        fn external_id(&self) -> Option<&str> {
            self.external
        }
        fn is_valid(&self) -> bool {
            self.valid
        }
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Oldest first: 1 INVALID "work", 2 VALID "home", 3 VALID with a UUID-looking external id.
    fn accounts() -> Vec<Acct> {
        vec![
            Acct {
                id: id(1),
                external: Some("work"),
                valid: false,
            },
            Acct {
                id: id(2),
                external: Some("home"),
                valid: true,
            },
            Acct {
                id: id(3),
                external: Some("00000000-0000-0000-0000-0000000000aa"),
                valid: true,
            },
        ]
    }

    #[derive(Debug)]
    enum Expect {
        Picks(u128),
        NotFound,
        NoAccount,
        Required,
    }

    fn check(
        accounts: &[Acct],
        selection: Option<&str>,
        op: Operation,
        explicit: bool,
        expect: Expect,
    ) {
        let policy = SelectionPolicy {
            require_explicit: explicit,
        };
        let got = select(accounts, selection, op, policy);
        let ok = match (&got, &expect) {
            (Ok(a), Expect::Picks(n)) => a.id == id(*n),
            (Err(SelectionError::NotFound), Expect::NotFound) => true,
            (Err(SelectionError::NoAccount), Expect::NoAccount) => true,
            (Err(SelectionError::SelectionRequired(ids)), Expect::Required) => {
                *ids == accounts.iter().map(|a| a.id).collect::<Vec<_>>()
            }
            _ => false,
        };
        assert!(
            ok,
            "select({selection:?}, {op:?}, explicit={explicit}) = {got:?}, expected {expect:?}"
        );
    }

    /// Accounts, selection, operation, `requireExplicitCredential`, outcome.
    type Case<'a> = (&'a [Acct], Option<&'a str>, Operation, bool, Expect);

    #[test]
    fn selection_table() {
        use Expect::*;
        use Operation::*;
        let all = accounts();
        let uuid2 = id(2).to_string();
        let cases: Vec<Case<'_>> = vec![
            // Default: the oldest VALID account, even though an older INVALID one exists.
            (&all, None, Use, false, Picks(2)),
            (&all, Some(""), Use, false, Picks(2)),
            (&all, Some("  "), Use, false, Picks(2)),
            // By credential id, by ext:, by plain external id.
            (&all, Some(&uuid2), Use, false, Picks(2)),
            (&all, Some("ext:work"), Use, false, Picks(1)),
            (&all, Some("work"), Use, false, Picks(1)),
            (&all, Some("home"), Destroy, false, Picks(2)),
            // A UUID that is nobody's id but is someone's external id.
            (
                &all,
                Some("00000000-0000-0000-0000-0000000000aa"),
                Use,
                false,
                Picks(3),
            ),
            (
                &all,
                Some("ext:00000000-0000-0000-0000-0000000000aa"),
                Use,
                false,
                Picks(3),
            ),
            // Names that match nothing in this set: not found, whatever exists elsewhere.
            (
                &all,
                Some("00000000-0000-0000-0000-000000000009"),
                Use,
                false,
                NotFound,
            ),
            (&all, Some("ext:nope"), Use, false, NotFound),
            (&all, Some("nope"), Use, false, NotFound),
            (&all, Some("ext:"), Use, false, NotFound),
            (
                &all,
                Some("ext:00000000-0000-0000-0000-000000000001"),
                Use,
                false,
                NotFound,
            ),
            // Destroying never guesses among several; explicit mode never guesses at all.
            (&all, None, Destroy, false, Required),
            (&all, None, Use, true, Required),
            (&all, Some("ext:work"), Use, true, Picks(1)),
            (&all[..1], None, Destroy, false, Picks(1)),
            (&all[..1], None, Use, true, Picks(1)),
            // All INVALID: the oldest.
            (&all[..1], None, Use, false, Picks(1)),
            (&[], None, Use, false, NoAccount),
            (&[], None, Destroy, true, NoAccount),
            (&[], Some("ext:work"), Use, false, NotFound),
        ];
        for (accounts, selection, op, explicit, expect) in cases {
            check(accounts, selection, op, explicit, expect);
        }
    }

    #[test]
    fn default_account_prefers_the_oldest_valid() {
        let all = accounts();
        assert_eq!(default_account(&all).map(|a| a.id), Some(id(2)));
        assert_eq!(default_account(&all[..1]).map(|a| a.id), Some(id(1)));
        assert!(default_account::<Acct>(&[]).is_none());
    }
}
