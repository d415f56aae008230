//! Creating accounts with their roles — for the security administrator's page,
//! `huimin account add` and the demo city's accounts. The rules (login names, the
//! password policy, 三员 separation) are the domain's; this is the wiring, with the
//! password hashed off the async runtime.

use chrono::{DateTime, Utc};
use huimin_domain::audit::Actor;
use huimin_domain::identity::{
    Account, AccountKind, Role, RoleAssignment, SignInPolicy, check_assignment, check_login,
    hash_password,
};
use huimin_domain::storage::{IdentityStore, StorageError};

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Login(String),
    #[error(transparent)]
    Password(#[from] huimin_domain::identity::PasswordProblem),
    #[error(transparent)]
    Assignment(#[from] huimin_domain::identity::AssignmentError),
    #[error("the login name {0} is taken")]
    Taken(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An account to create, with one role.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub login: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub jurisdiction: String,
    pub department: Option<String>,
    pub citizen_id: Option<String>,
}

/// Creates the account and assigns its role, each audited as done by `actor`. Fails with
/// the reason when the login, the password or the assignment is refused, or the login
/// is taken.
pub async fn add_account(
    store: &dyn IdentityStore,
    new: NewAccount,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    check_login(&new.login).map_err(AccountError::Login)?;
    SignInPolicy::default().check_new_password(&new.password, &new.login)?;
    let kind: AccountKind = new.role.account_kind();
    let assignment = RoleAssignment {
        role: new.role,
        jurisdiction: new.jurisdiction.clone(),
        department: new.department.clone(),
        valid_from: now,
        valid_until: None,
    };
    check_assignment(kind, &[], &assignment)?;
    let salt =
        crate::session::random_bytes::<16>().map_err(|_| StorageError::new("no random bytes"))?;
    let password = new.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password, &salt))
        .await
        .map_err(|error| StorageError::new(format!("hashing the password: {error}")))?;
    let mut account = Account::new(new.login.clone(), kind, new.display_name.clone(), hash, now);
    account.department = new.department.clone();
    account.citizen_id = new.citizen_id.clone();
    let event = actor.event("account.create", "account", new.login.clone());
    if !store.create_account(&account, &event).await? {
        return Err(AccountError::Taken(new.login));
    }
    let event = huimin_domain::audit::AuditEvent {
        jurisdiction: new.jurisdiction.clone(),
        detail: format!("role {}", new.role.code()),
        ..actor.event("account.assign_role", "account", new.login.clone())
    };
    store
        .assign_role(&new.login, &assignment, &event, now)
        .await?;
    Ok(())
}

/// The password of the demo city's accounts (printed when the demo starts).
pub const DEMO_PASSWORD: &str = "huimin-demo-2026";

/// Creates the demo city's staff accounts unless they exist: a security and an audit
/// administrator for the city, a district leader, a grid worker and a city-wide
/// civil-affairs officer. Returns their logins.
pub async fn add_demo_accounts(
    store: &dyn IdentityStore,
    district: &str,
    grid: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AccountError> {
    let accounts = [
        (
            "security.admin",
            "安全管理员（演示）",
            Role::SecurityAdministrator,
            "321000",
        ),
        (
            "audit.admin",
            "安全审计员（演示）",
            Role::AuditAdministrator,
            "321000",
        ),
        (
            "district.leader",
            "区级领导（演示）",
            Role::DistrictLeader,
            district,
        ),
        ("grid.worker", "网格员（演示）", Role::GridWorker, grid),
        (
            "civil.affairs",
            "民政经办人员（演示）",
            Role::CivilAffairsOfficer,
            "321000",
        ),
    ];
    let actor = Actor::system("demo-generator");
    let mut logins = Vec::new();
    for (login, name, role, jurisdiction) in accounts {
        if store.account(login).await?.is_none() {
            let new = NewAccount {
                login: login.to_owned(),
                display_name: name.to_owned(),
                password: DEMO_PASSWORD.to_owned(),
                role,
                jurisdiction: jurisdiction.to_owned(),
                department: None,
                citizen_id: None,
            };
            add_account(store, new, &actor, now).await?;
        }
        logins.push(login.to_owned());
    }
    Ok(logins)
}

/// Issues an API token to a service account: returns the token, which is shown once and
/// kept only as its SHA-256.
pub async fn issue_api_token(
    store: &dyn IdentityStore,
    login: &str,
    label: &str,
    scopes: &[String],
    valid_for: chrono::Duration,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<String, AccountError> {
    let account = store
        .account(login)
        .await?
        .ok_or_else(|| AccountError::Login(format!("no account is called '{login}'")))?;
    if account.kind != AccountKind::Service {
        return Err(AccountError::Login(format!(
            "API tokens are for service accounts (department systems); '{login}' is a {} account",
            account.kind.code()
        )));
    }
    if let Some(unknown) = scopes
        .iter()
        .find(|scope| !huimin_domain::identity::TOKEN_SCOPES.contains(&scope.as_str()))
    {
        return Err(AccountError::Login(format!(
            "unknown scope '{unknown}'; the scopes are {}",
            huimin_domain::identity::TOKEN_SCOPES.join(", ")
        )));
    }
    let secret =
        crate::session::random_token().map_err(|_| StorageError::new("no random bytes"))?;
    let token = format!("{}{secret}", crate::session::TOKEN_PREFIX);
    let stored = huimin_domain::identity::ApiToken {
        login: login.to_owned(),
        label: label.to_owned(),
        scopes: scopes.to_vec(),
        created_at: now,
        expires_at: now + valid_for,
        revoked_at: None,
    };
    let event = huimin_domain::audit::AuditEvent {
        detail: format!(
            "token '{label}', scopes {}, expires {}",
            scopes.join(" "),
            stored.expires_at
        ),
        ..actor.event("account.issue_token", "account", login)
    };
    store
        .create_api_token(&crate::session::token_hash(&token), &stored, &event)
        .await?;
    Ok(token)
}

/// Creates a service account (a department's system) with one role.
pub async fn add_service_account(
    store: &dyn IdentityStore,
    login: &str,
    display_name: &str,
    role: Role,
    jurisdiction: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    check_login(login).map_err(AccountError::Login)?;
    let assignment = RoleAssignment {
        role,
        jurisdiction: jurisdiction.to_owned(),
        department: None,
        valid_from: now,
        valid_until: None,
    };
    check_assignment(AccountKind::Service, &[], &assignment)?;
    let account = Account::new(
        login,
        AccountKind::Service,
        display_name,
        String::new(),
        now,
    );
    if !store
        .create_account(&account, &actor.event("account.create", "account", login))
        .await?
    {
        return Err(AccountError::Taken(login.to_owned()));
    }
    let event = huimin_domain::audit::AuditEvent {
        jurisdiction: jurisdiction.to_owned(),
        detail: format!("role {}", role.code()),
        ..actor.event("account.assign_role", "account", login)
    };
    store.assign_role(login, &assignment, &event, now).await?;
    Ok(())
}
