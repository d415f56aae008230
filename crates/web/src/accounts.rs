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
    #[error("{0}")]
    Department(String),
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
/// is taken. Residents are added with [`add_resident_account`], from the registry.
pub async fn add_account(
    store: &dyn IdentityStore,
    new: NewAccount,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    if new.role == Role::Resident {
        return Err(AccountError::Login(
            "resident accounts are made from the population registry: `huimin account add-resident`"
                .to_owned(),
        ));
    }
    check_login(&new.login).map_err(AccountError::Login)?;
    SignInPolicy::default().check_new_password(&new.password, &new.login)?;
    let kind: AccountKind = new.role.account_kind();
    let mut account = Account::new(
        new.login.clone(),
        kind,
        new.display_name.clone(),
        password_hash(&new.password).await?,
        now,
    );
    account.department = new.department.clone();
    account.citizen_id = new.citizen_id.clone();
    create_with_role(store, &account, new.role, &new.jurisdiction, actor, now).await
}

/// Hashes a new password off the async runtime, with a fresh salt.
async fn password_hash(password: &str) -> Result<String, AccountError> {
    let salt =
        crate::session::random_bytes::<16>().map_err(|_| StorageError::new("no random bytes"))?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password, &salt))
        .await
        .map_err(|error| StorageError::new(format!("hashing the password: {error}")).into())
}

/// Checks the assignment of `role` over `jurisdiction` (for the account's department, from
/// now on), then creates the account and assigns the role, each audited.
async fn create_with_role(
    store: &dyn IdentityStore,
    account: &Account,
    role: Role,
    jurisdiction: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let assignment = RoleAssignment {
        role,
        jurisdiction: jurisdiction.to_owned(),
        department: account.department.clone(),
        valid_from: now,
        valid_until: None,
    };
    check_assignment(account.kind, &[], &assignment)?;
    let login = account.login.as_str();
    if !store
        .create_account(account, &actor.event("account.create", "account", login))
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

/// Creates a resident's account for the person with `citizen_id` in the population
/// registry: their name, and the phone on record, which their sign-in codes go to. The
/// role is `resident`, over the person's grid (or, without one, the area code the
/// identity number begins with).
pub async fn add_resident_account(
    store: &dyn IdentityStore,
    registry: &dyn huimin_domain::storage::RegistryStore,
    login: &str,
    citizen_id: &str,
    password: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    check_login(login).map_err(AccountError::Login)?;
    let citizen_id = huimin_domain::identifiers::CitizenId::parse(citizen_id.trim())
        .map_err(|error| AccountError::Login(format!("identity number: {error}")))?;
    let person = registry
        .person(&citizen_id, None)
        .await?
        .ok_or_else(|| {
            AccountError::Login(format!(
                "no person with the identity number {} is in the population registry",
                huimin_domain::access::mask_citizen_id(citizen_id.as_str())
            ))
        })?
        .record;
    let phone = person.phone.as_ref().ok_or_else(|| {
        AccountError::Login(
            "the registry has no mobile phone for this person, and residents sign in with a code sent to it"
                .to_owned(),
        )
    })?;
    SignInPolicy::default().check_new_password(password, login)?;
    let mut account = Account::new(
        login,
        AccountKind::Resident,
        person.name.as_str(),
        password_hash(password).await?,
        now,
    );
    account.citizen_id = Some(citizen_id.as_str().to_owned());
    account.phone = Some(phone.as_str().to_owned());
    let jurisdiction = person.grid.as_ref().map_or_else(
        || citizen_id.as_str()[..6].to_owned(),
        |grid| grid.as_str().to_owned(),
    );
    create_with_role(store, &account, Role::Resident, &jurisdiction, actor, now).await
}

/// The password of the demo city's accounts (printed when the demo starts).
pub const DEMO_PASSWORD: &str = "huimin-demo-2026";

/// The demo city's resident account.
pub const DEMO_RESIDENT: &str = "resident.demo";

/// Creates the demo city's accounts unless they exist: a security and an audit
/// administrator and a city administrator for the city, a district leader, a grid
/// worker, the command centre's dispatcher, a 12345 hotline agent, 城管's officer, a city-wide civil-affairs officer, 公安's and 民政's data officers, and `resident.demo` for a person with a phone in the grid
/// worker's grid. Returns their logins.
pub async fn add_demo_accounts(
    store: &dyn IdentityStore,
    registry: &dyn huimin_domain::storage::RegistryStore,
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
            None,
        ),
        (
            "audit.admin",
            "安全审计员（演示）",
            Role::AuditAdministrator,
            "321000",
            None,
        ),
        (
            "city.admin",
            "市级管理员（演示）",
            Role::CityAdministrator,
            "321000",
            None,
        ),
        (
            "district.leader",
            "区级领导（演示）",
            Role::DistrictLeader,
            district,
            None,
        ),
        (
            "grid.worker",
            "网格员（演示）",
            Role::GridWorker,
            grid,
            None,
        ),
        (
            "dispatcher",
            "指挥中心派遣员（演示）",
            Role::Dispatcher,
            "321000",
            None,
        ),
        (
            "hotline.agent",
            "12345 热线话务员（演示）",
            Role::HotlineAgent,
            "321000",
            None,
        ),
        (
            "chengguan.officer",
            "城管局办理人员（演示）",
            Role::DepartmentOfficer,
            "321000",
            Some("chengguan"),
        ),
        (
            "civil.affairs",
            "民政经办人员（演示）",
            Role::CivilAffairsOfficer,
            "321000",
            None,
        ),
        (
            "data.officer",
            "公安局数据管理员（演示）",
            Role::DepartmentDataOfficer,
            "321000",
            Some("gongan"),
        ),
        (
            "minzheng.officer",
            "民政局数据管理员（演示）",
            Role::DepartmentDataOfficer,
            "321000",
            Some("minzheng"),
        ),
    ];
    let actor = Actor::system("demo-generator");
    let mut logins = Vec::new();
    for (login, name, role, jurisdiction, department) in accounts {
        if store.account(login).await?.is_none() {
            let new = NewAccount {
                login: login.to_owned(),
                display_name: name.to_owned(),
                password: DEMO_PASSWORD.to_owned(),
                role,
                jurisdiction: jurisdiction.to_owned(),
                department: department.map(str::to_owned),
                citizen_id: None,
            };
            add_account(store, new, &actor, now).await?;
        }
        logins.push(login.to_owned());
    }
    if store.account(DEMO_RESIDENT).await?.is_none() {
        let query = huimin_domain::storage::PersonQuery {
            area: Some(grid.to_owned()),
            ..huimin_domain::storage::PersonQuery::default()
        };
        let people = registry
            .search_persons(&query, huimin_domain::storage::PageRequest::new(1, 100))
            .await?;
        for person in &people.items {
            let with_phone = registry
                .person(&person.citizen_id, None)
                .await?
                .is_some_and(|found| found.record.phone.is_some());
            if with_phone {
                add_resident_account(
                    store,
                    registry,
                    DEMO_RESIDENT,
                    person.citizen_id.as_str(),
                    DEMO_PASSWORD,
                    &actor,
                    now,
                )
                .await?;
                break;
            }
        }
    }
    if store.account(DEMO_RESIDENT).await?.is_some() {
        logins.push(DEMO_RESIDENT.to_owned());
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

/// Creates a service account (a department's system) with one role, of `department`
/// (its id in the catalogue) when given.
#[allow(clippy::too_many_arguments)] // each is a fact of the account, named at the call
pub async fn add_service_account(
    store: &dyn IdentityStore,
    login: &str,
    display_name: &str,
    role: Role,
    jurisdiction: &str,
    department: Option<&str>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    check_login(login).map_err(AccountError::Login)?;
    let mut account = Account::new(
        login,
        AccountKind::Service,
        display_name,
        String::new(),
        now,
    );
    if let Some(department) = department {
        let id = huimin_domain::catalogue::DepartmentId::parse(department)
            .map_err(AccountError::Department)?;
        account.department = Some(id.to_string());
    }
    create_with_role(store, &account, role, jurisdiction, actor, now).await
}
