//! Identity: accounts, roles and their assignments, and the rules of signing in — the
//! password policy, the lockout, the TOTP second factor, session lifetimes.
//!
//! Everything here is pure: hashing a password (Argon2id) and checking a TOTP code are
//! computation on values passed in, and `now` is always an argument. The store keeps
//! accounts and sessions; the web layer runs the sign-in flow on these rules.

use chrono::{DateTime, Duration, Utc};
use std::fmt;

/// What kind of party an account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// Government staff: every staff account needs a second factor.
    Staff,
    Resident,
    Enterprise,
    /// A department's system, calling the API with tokens.
    Service,
}

impl AccountKind {
    pub const ALL: [AccountKind; 4] = [
        AccountKind::Staff,
        AccountKind::Resident,
        AccountKind::Enterprise,
        AccountKind::Service,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AccountKind::Staff => "staff",
            AccountKind::Resident => "resident",
            AccountKind::Enterprise => "enterprise",
            AccountKind::Service => "service",
        }
    }

    pub fn parse(code: &str) -> Option<AccountKind> {
        AccountKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// The roles of the city's platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    CityAdministrator,
    DistrictLeader,
    StreetLeader,
    CommunityLeader,
    DepartmentOfficer,
    DepartmentDataOfficer,
    Dispatcher,
    HotlineAgent,
    GridWorker,
    WindowClerk,
    CivilAffairsOfficer,
    /// 系统管理员: runs the system, sees no personal data.
    SystemAdministrator,
    /// 安全管理员: accounts, roles, seals.
    SecurityAdministrator,
    /// 安全审计员: reads and verifies the audit log.
    AuditAdministrator,
    Resident,
    EnterpriseUser,
}

impl Role {
    pub const ALL: [Role; 16] = [
        Role::CityAdministrator,
        Role::DistrictLeader,
        Role::StreetLeader,
        Role::CommunityLeader,
        Role::DepartmentOfficer,
        Role::DepartmentDataOfficer,
        Role::Dispatcher,
        Role::HotlineAgent,
        Role::GridWorker,
        Role::WindowClerk,
        Role::CivilAffairsOfficer,
        Role::SystemAdministrator,
        Role::SecurityAdministrator,
        Role::AuditAdministrator,
        Role::Resident,
        Role::EnterpriseUser,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::CityAdministrator => "city_administrator",
            Role::DistrictLeader => "district_leader",
            Role::StreetLeader => "street_leader",
            Role::CommunityLeader => "community_leader",
            Role::DepartmentOfficer => "department_officer",
            Role::DepartmentDataOfficer => "department_data_officer",
            Role::Dispatcher => "dispatcher",
            Role::HotlineAgent => "hotline_agent",
            Role::GridWorker => "grid_worker",
            Role::WindowClerk => "window_clerk",
            Role::CivilAffairsOfficer => "civil_affairs_officer",
            Role::SystemAdministrator => "system_administrator",
            Role::SecurityAdministrator => "security_administrator",
            Role::AuditAdministrator => "audit_administrator",
            Role::Resident => "resident",
            Role::EnterpriseUser => "enterprise_user",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Role::CityAdministrator => "市级管理员",
            Role::DistrictLeader => "区级领导",
            Role::StreetLeader => "街道领导",
            Role::CommunityLeader => "社区领导",
            Role::DepartmentOfficer => "部门业务人员",
            Role::DepartmentDataOfficer => "部门数据管理员",
            Role::Dispatcher => "指挥中心调度员",
            Role::HotlineAgent => "热线坐席",
            Role::GridWorker => "网格员",
            Role::WindowClerk => "窗口受理人员",
            Role::CivilAffairsOfficer => "民政经办人员",
            Role::SystemAdministrator => "系统管理员",
            Role::SecurityAdministrator => "安全管理员",
            Role::AuditAdministrator => "安全审计员",
            Role::Resident => "居民",
            Role::EnterpriseUser => "企业用户",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Role::CityAdministrator => "City administrator",
            Role::DistrictLeader => "District leader",
            Role::StreetLeader => "Street leader",
            Role::CommunityLeader => "Community leader",
            Role::DepartmentOfficer => "Department officer",
            Role::DepartmentDataOfficer => "Department data officer",
            Role::Dispatcher => "Command-centre dispatcher",
            Role::HotlineAgent => "Hotline agent",
            Role::GridWorker => "Grid worker",
            Role::WindowClerk => "Window clerk",
            Role::CivilAffairsOfficer => "Civil-affairs officer",
            Role::SystemAdministrator => "System administrator",
            Role::SecurityAdministrator => "Security administrator",
            Role::AuditAdministrator => "Audit administrator",
            Role::Resident => "Resident",
            Role::EnterpriseUser => "Enterprise user",
        }
    }

    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.code() == code)
    }

    /// The kind of account that may hold the role.
    pub fn account_kind(self) -> AccountKind {
        match self {
            Role::Resident => AccountKind::Resident,
            Role::EnterpriseUser => AccountKind::Enterprise,
            _ => AccountKind::Staff,
        }
    }

    /// One of the three administrators (三员) that no account may combine.
    pub fn is_separated_administrator(self) -> bool {
        matches!(
            self,
            Role::SystemAdministrator | Role::SecurityAdministrator | Role::AuditAdministrator
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

/// A role held over a jurisdiction (an area code from the registry's tree: the city, a
/// district, street, community or grid), optionally for one department, for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    pub role: Role,
    pub jurisdiction: String,
    pub department: Option<String>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl RoleAssignment {
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.valid_from <= now && self.valid_until.is_none_or(|until| now < until)
    }
}

/// Why an assignment is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    #[error("the role {role} is for {expected} accounts, and this is a {found} account")]
    WrongKind {
        role: Role,
        expected: &'static str,
        found: &'static str,
    },
    #[error(
        "the system, security and audit administrators (三员) must be different people: this account already holds {held}"
    )]
    SeparationOfDuties { held: Role },
    #[error("the assignment ends before it starts")]
    EmptyPeriod,
    #[error("the jurisdiction must be an area code of 6 to 15 digits, found '{0}'")]
    Jurisdiction(String),
}

/// Checks a new assignment against the account's kind and the assignments it holds (all
/// of them, expired ones included: an audit administrator yesterday is not a security
/// administrator today).
pub fn check_assignment(
    kind: AccountKind,
    held: &[RoleAssignment],
    new: &RoleAssignment,
) -> Result<(), AssignmentError> {
    let service_may_hold = kind == AccountKind::Service
        && new.role.account_kind() == AccountKind::Staff
        && !new.role.is_separated_administrator();
    if new.role.account_kind() != kind && !service_may_hold {
        return Err(AssignmentError::WrongKind {
            role: new.role,
            expected: new.role.account_kind().code(),
            found: kind.code(),
        });
    }
    if new.valid_until.is_some_and(|until| until <= new.valid_from) {
        return Err(AssignmentError::EmptyPeriod);
    }
    let digits = new.jurisdiction.len();
    if !(6..=15).contains(&digits) || !new.jurisdiction.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(AssignmentError::Jurisdiction(new.jurisdiction.clone()));
    }
    if new.role.is_separated_administrator()
        && let Some(other) = held
            .iter()
            .map(|assignment| assignment.role)
            .find(|role| role.is_separated_administrator() && *role != new.role)
    {
        return Err(AssignmentError::SeparationOfDuties { held: other });
    }
    Ok(())
}

/// An account as stored. A new account has no second factor; staff enrol one at their
/// first sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub login: String,
    pub kind: AccountKind,
    pub display_name: String,
    pub citizen_id: Option<String>,
    pub department: Option<String>,
    /// Where a resident's sign-in codes go (a mobile number, 11 digits).
    pub phone: Option<String>,
    /// The serial number (lower-case hex) of the client certificate bound to the account.
    pub certificate_serial: Option<String>,
    /// Argon2id PHC string; empty for accounts without a password.
    pub password_hash: String,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_enrolled_at: Option<DateTime<Utc>>,
    pub totp_last_step: Option<u64>,
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// A new account with a password hash and nothing else set.
    pub fn new(
        login: impl Into<String>,
        kind: AccountKind,
        display_name: impl Into<String>,
        password_hash: String,
        created_at: DateTime<Utc>,
    ) -> Account {
        Account {
            login: login.into(),
            kind,
            display_name: display_name.into(),
            citizen_id: None,
            department: None,
            phone: None,
            certificate_serial: None,
            password_hash,
            totp_secret: None,
            totp_enrolled_at: None,
            totp_last_step: None,
            failed_attempts: 0,
            locked_until: None,
            disabled_at: None,
            created_at,
        }
    }

    pub fn is_locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// The second factor this account signs in with: staff a TOTP code (every staff role
    /// requires it), residents and enterprise users a code sent by SMS.
    pub fn second_factor_kind(&self) -> SecondFactorKind {
        match self.kind {
            AccountKind::Staff => SecondFactorKind::Totp,
            AccountKind::Resident | AccountKind::Enterprise => SecondFactorKind::Sms,
            AccountKind::Service => SecondFactorKind::None,
        }
    }
}

/// How an account proves itself after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorKind {
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// A code sent by SMS to the account's phone.
    Sms,
    /// No second step (service accounts, which have no password either).
    None,
}

/// The digits of an SMS sign-in code.
pub const SMS_CODE_DIGITS: usize = 6;

/// A six-digit SMS code from a random number (uniform when `random` is uniform over
/// `0..u32::MAX`: the bias of the modulo is below one in four thousand).
pub fn sms_code(random: u32) -> String {
    format!("{:06}", random % 1_000_000)
}

/// What the store keeps of an SMS code: SHA-256 over a label, the session's key and the
/// code, so a code is good for the session it was sent to and the table does not show it.
pub fn sms_code_hash(session_key: &[u8], code: &str) -> Vec<u8> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"huimin-sms-code-v1");
    hasher.update((session_key.len() as u64).to_be_bytes());
    hasher.update(session_key);
    hasher.update(code.as_bytes());
    hasher.finalize().to_vec()
}

/// Whether the code typed matches the stored hash: six digits, and the same hash. The
/// comparison does not stop at the first differing byte.
pub fn sms_code_matches(stored: &[u8], session_key: &[u8], typed: &str) -> bool {
    let typed = typed.trim();
    if typed.len() != SMS_CODE_DIGITS || !typed.bytes().all(|byte| byte.is_ascii_digit()) {
        return false;
    }
    constant_time_eq(&sms_code_hash(session_key, typed), stored)
}

/// Whether two byte strings are equal, in time that does not depend on where they
/// differ (for secrets, tokens and their hashes).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the store keeps of a random secret — a session or API token, an OIDC code,
/// token or client secret: its SHA-256, so a copy of the table signs nobody in.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).to_vec()
}

/// A login name: 3–64 characters of lower-case ASCII letters, digits, `.`, `_` and `-`,
/// starting with a letter.
pub fn check_login(login: &str) -> Result<(), String> {
    let valid = (3..=64).contains(&login.len())
        && login.starts_with(|c: char| c.is_ascii_lowercase())
        && login.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "a login name is 3–64 lower-case letters, digits, '.', '_' or '-', starting with a letter; found '{login}'"
        ))
    }
}

/// How far a session has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; the second factor (or its enrolment) is pending.
    SecondFactor,
    SignedIn,
}

impl SessionStage {
    pub fn code(self) -> &'static str {
        match self {
            SessionStage::SecondFactor => "second_factor",
            SessionStage::SignedIn => "signed_in",
        }
    }

    pub fn parse(code: &str) -> Option<SessionStage> {
        match code {
            "second_factor" => Some(SessionStage::SecondFactor),
            "signed_in" => Some(SessionStage::SignedIn),
            _ => None,
        }
    }
}

/// A session as stored, under the SHA-256 of its cookie token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub login: String,
    pub stage: SessionStage,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub client: String,
    /// The hash of the SMS code sent for this sign-in ([`sms_code_hash`]), and when.
    pub sms_code: Option<(Vec<u8>, DateTime<Utc>)>,
}

/// An API token of a department's system, as stored (under the SHA-256 of its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub login: String,
    pub label: String,
    /// What the token may do, e.g. `persons:read`.
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|held| held == scope)
    }
}

/// The scopes an API token may hold.
pub const TOKEN_SCOPES: [&str; 7] = [
    "persons:read",
    "registry:write",
    "catalogue:write",
    "sharing:write",
    "exchange:read",
    "cases:write",
    "sms:inbound",
];

/// The sign-in rules, with the values the issue sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInPolicy {
    pub min_password_chars: usize,
    pub max_failures: u32,
    pub lockout: Duration,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    /// How long the password step stays valid while the second factor is asked for.
    pub second_factor_window: Duration,
    /// How long after an SMS code another may be sent.
    pub sms_resend_after: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        SignInPolicy {
            min_password_chars: 12,
            max_failures: 5,
            lockout: Duration::minutes(15),
            idle_timeout: Duration::minutes(30),
            absolute_timeout: Duration::hours(12),
            second_factor_window: Duration::minutes(5),
            sms_resend_after: Duration::seconds(60),
        }
    }
}

/// Why a new password is refused. Length and commonness only: no composition rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password must be at least {min} characters long (it has {found})")]
    TooShort { min: usize, found: usize },
    #[error("the password is on the list of commonly used passwords")]
    Common,
    #[error("the password must not be the login name")]
    SameAsLogin,
}

/// Passwords of 12 characters or more that are known to be common: the long entries of
/// zxcvbn's frequency list (MIT, see `data/SOURCES.md`) and keyboard and number patterns
/// common in China.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

impl SignInPolicy {
    pub fn check_new_password(&self, password: &str, login: &str) -> Result<(), PasswordProblem> {
        let found = password.chars().count();
        if found < self.min_password_chars {
            return Err(PasswordProblem::TooShort {
                min: self.min_password_chars,
                found,
            });
        }
        let lower = password.to_lowercase();
        if lower == login.to_lowercase() {
            return Err(PasswordProblem::SameAsLogin);
        }
        if COMMON_PASSWORDS.lines().any(|common| common == lower) {
            return Err(PasswordProblem::Common);
        }
        Ok(())
    }

    /// When an account with `failures` consecutive failures (this one included) is locked
    /// until, if at all.
    pub fn lock_after(&self, failures: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (failures >= self.max_failures).then(|| now + self.lockout)
    }

    /// Whether a session created at `created` and last used at `last_seen` is still alive.
    pub fn session_alive(
        &self,
        created: DateTime<Utc>,
        last_seen: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        now < created + self.absolute_timeout && now < last_seen + self.idle_timeout
    }
}

/// Argon2id cost: 19 MiB of memory, 2 passes, 1 lane — the first of OWASP's recommended
/// settings (Password Storage Cheat Sheet), about 30 ms a hash on one core of this
/// project's reference machine.
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_PASSES: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

fn argon2() -> argon2::Argon2<'static> {
    // The constants are valid parameters; `Params::new` only refuses out-of-range ones.
    let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .unwrap_or_default();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) of a password with a
/// random 16-byte `salt` the caller draws. Slow on purpose: call it off the async runtime.
pub fn hash_password(password: &str, salt: &[u8; 16]) -> String {
    use argon2::password_hash::PasswordHasher;
    match argon2().hash_password_with_salt(password.as_bytes(), salt) {
        Ok(hash) => hash.to_string(),
        // Argon2 fails only on inputs longer than 4 GiB; such a password cannot match.
        Err(_) => String::new(),
    }
}

/// Whether a password matches a PHC string made by [`hash_password`]; a malformed string
/// matches nothing. Takes as long as hashing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    argon2().verify_password(password.as_bytes(), phc).is_ok()
}

/// A hash to verify against when the account does not exist, so an unknown login takes
/// as long as a wrong password (no account enumeration by timing).
pub fn decoy_password_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("not the password of anyone", &[0x5a; 16]))
}

/// A staff member's TOTP second factor (RFC 6238: HMAC-SHA-1, six digits, 30-second
/// steps, one step of tolerated clock drift either way).
#[derive(Clone)]
pub struct SecondFactor {
    totp: totp_rs::Totp,
}

impl fmt::Debug for SecondFactor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SecondFactor(…)")
    }
}

/// The length of a new TOTP secret: 160 bits, as RFC 4226 recommends.
pub const TOTP_SECRET_BYTES: usize = 20;

impl SecondFactor {
    pub const STEP_SECONDS: u64 = 30;

    /// The factor of a secret of at least 128 bits; `None` for a shorter one.
    pub fn new(secret: &[u8]) -> Option<SecondFactor> {
        totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(Self::STEP_SECONDS)
            .with_secret(secret)
            .build()
            .ok()
            .map(|totp| SecondFactor { totp })
    }

    /// The factor of a secret typed in base32 (as an authenticator app shows it).
    pub fn from_base32(text: &str) -> Option<SecondFactor> {
        let secret = totp_rs::Secret::try_from_base32(text.trim()).ok()?;
        SecondFactor::new(secret.as_bytes())
    }

    /// The secret in base32, as authenticator apps take it typed in.
    pub fn secret_base32(&self) -> String {
        self.totp.secret().to_base32()
    }

    /// The `otpauth://` URI an authenticator app reads from the enrolment QR code.
    pub fn provisioning_uri(&self, issuer: &str, login: &str) -> String {
        fn escape(text: &str) -> String {
            text.bytes()
                .map(|byte| match byte {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (byte as char).to_string()
                    }
                    _ => format!("%{byte:02X}"),
                })
                .collect()
        }
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={}",
            escape(issuer),
            escape(login),
            self.secret_base32(),
            escape(issuer),
            Self::STEP_SECONDS
        )
    }

    /// The code for an instant (for tests and enrolment checks).
    pub fn code_at(&self, now: DateTime<Utc>) -> String {
        self.totp
            .generate(u64::try_from(now.timestamp()).unwrap_or(0))
            .to_string()
    }

    /// The time step a code belongs to, if it is valid at `now` (the current step or one
    /// either side) and later than `last_used_step`: a code is accepted once.
    pub fn accept(
        &self,
        code: &str,
        now: DateTime<Utc>,
        last_used_step: Option<u64>,
    ) -> Option<u64> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        let step = self
            .totp
            .check(code, u64::try_from(now.timestamp()).unwrap_or(0))?;
        last_used_step
            .is_none_or(|last| step > last)
            .then_some(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn assignment(role: Role) -> RoleAssignment {
        RoleAssignment {
            role,
            jurisdiction: "321002".into(),
            department: None,
            valid_from: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            valid_until: None,
        }
    }

    #[test]
    fn roles_round_trip_and_the_three_administrators_stay_apart() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.code()), Some(role));
            assert!(!role.name_zh().is_empty() && !role.name_en().is_empty());
        }
        let security = [assignment(Role::SecurityAdministrator)];
        assert_eq!(
            check_assignment(
                AccountKind::Staff,
                &security,
                &assignment(Role::AuditAdministrator)
            ),
            Err(AssignmentError::SeparationOfDuties {
                held: Role::SecurityAdministrator
            })
        );
        assert_eq!(
            check_assignment(
                AccountKind::Staff,
                &security,
                &assignment(Role::SecurityAdministrator)
            ),
            Ok(())
        );
        assert_eq!(
            check_assignment(AccountKind::Staff, &security, &assignment(Role::GridWorker)),
            Ok(())
        );
        assert!(matches!(
            check_assignment(AccountKind::Resident, &[], &assignment(Role::GridWorker)),
            Err(AssignmentError::WrongKind { .. })
        ));
        let mut backwards = assignment(Role::GridWorker);
        backwards.valid_until = Some(backwards.valid_from);
        assert_eq!(
            check_assignment(AccountKind::Staff, &[], &backwards),
            Err(AssignmentError::EmptyPeriod)
        );
        let mut nowhere = assignment(Role::GridWorker);
        nowhere.jurisdiction = "扬州".into();
        assert!(matches!(
            check_assignment(AccountKind::Staff, &[], &nowhere),
            Err(AssignmentError::Jurisdiction(_))
        ));
        let mut ended = assignment(Role::GridWorker);
        ended.valid_until = Some(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap());
        assert!(ended.is_valid_at(Utc.with_ymd_and_hms(2026, 5, 31, 23, 59, 59).unwrap()));
        assert!(!ended.is_valid_at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()));
    }

    #[test]
    fn passwords_need_twelve_characters_and_must_not_be_common() {
        let policy = SignInPolicy::default();
        assert_eq!(
            policy.check_new_password("short-pass1", "li"),
            Err(PasswordProblem::TooShort { min: 12, found: 11 })
        );
        // Characters, not bytes: twelve Chinese characters are long enough.
        assert_eq!(
            policy.check_new_password("扬州好地方春风十里扬州路", "li"),
            Ok(())
        );
        assert_eq!(
            policy.check_new_password("1qaz2wsx3edc", "li"),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            policy.check_new_password("WoAiNi1314520", "li"),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            policy.check_new_password("wang.xiuying", "Wang.Xiuying"),
            Err(PasswordProblem::SameAsLogin)
        );
        assert_eq!(
            policy.check_new_password("correct horse battery", "li"),
            Ok(())
        );
    }

    #[test]
    fn lockout_and_session_lifetimes() {
        let policy = SignInPolicy::default();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        assert_eq!(policy.lock_after(4, now), None);
        assert_eq!(policy.lock_after(5, now), Some(now + Duration::minutes(15)));
        let minute = Duration::minutes(1);
        assert!(policy.session_alive(now, now, now + minute * 29));
        assert!(
            !policy.session_alive(now, now, now + minute * 30),
            "idle 30 minutes"
        );
        assert!(policy.session_alive(now, now + minute * 700, now + minute * 719));
        assert!(
            !policy.session_alive(now, now + minute * 710, now + minute * 720),
            "absolute 12 hours"
        );
    }

    #[test]
    fn password_hashes_are_argon2id_with_the_stated_cost() {
        let hash = hash_password("correct horse battery", &[7; 16]);
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterx", &hash));
        assert!(!verify_password(
            "correct horse battery",
            "$argon2id$garbage"
        ));
        assert!(!verify_password("anything", decoy_password_hash()));
    }

    /// RFC 6238 appendix B, SHA-1 rows, truncated to six digits (the last six of the
    /// published eight-digit values).
    #[test]
    fn totp_codes_match_rfc_6238_and_are_accepted_once_within_one_step() {
        let factor = SecondFactor::new(b"12345678901234567890").unwrap();
        for (seconds, eight_digits) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let at = Utc.timestamp_opt(seconds, 0).unwrap();
            assert_eq!(factor.code_at(at), eight_digits[2..], "T = {seconds}");
        }
        let at = Utc.timestamp_opt(1_234_567_890, 0).unwrap();
        let code = factor.code_at(at);
        let step = 1_234_567_890 / 30;
        assert_eq!(factor.accept(&code, at, None), Some(step));
        assert_eq!(
            factor.accept(&code, at + Duration::seconds(30), None),
            Some(step),
            "one step late"
        );
        assert_eq!(
            factor.accept(&code, at - Duration::seconds(30), None),
            Some(step),
            "one step early"
        );
        assert_eq!(
            factor.accept(&code, at + Duration::seconds(61), None),
            None,
            "two steps late"
        );
        assert_eq!(
            factor.accept(&code, at, Some(step)),
            None,
            "a code is used once"
        );
        assert_eq!(factor.accept("12345", at, None), None);
        assert_eq!(factor.accept("abcdef", at, None), None);
        assert!(
            SecondFactor::new(&[1; 15]).is_none(),
            "secrets under 128 bits are refused"
        );
        let uri = factor.provisioning_uri("惠民 Huimin", "wang.li");
        assert!(uri.starts_with("otpauth://totp/%E6%83%A0%E6%B0%91%20Huimin:wang.li?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"), "{uri}");
    }

    #[test]
    fn sms_codes_are_six_digits_bound_to_their_session() {
        assert_eq!(sms_code(0), "000000");
        assert_eq!(sms_code(42), "000042");
        assert_eq!(sms_code(u32::MAX), "967295");
        let stored = sms_code_hash(b"session-a", "123456");
        assert!(sms_code_matches(&stored, b"session-a", "123456"));
        assert!(
            sms_code_matches(&stored, b"session-a", " 123456 "),
            "spaces around are forgiven"
        );
        assert!(
            !sms_code_matches(&stored, b"session-b", "123456"),
            "another session's code"
        );
        assert!(!sms_code_matches(&stored, b"session-a", "123457"));
        assert!(!sms_code_matches(&stored, b"session-a", "12345"));
        assert!(
            !sms_code_matches(&stored, b"session-a", "１２３４５６"),
            "full-width digits are not the code"
        );
        assert!(!sms_code_matches(&[], b"session-a", "123456"));
    }

    #[test]
    fn each_kind_of_account_has_its_second_factor() {
        let account =
            |kind| Account::new("someone", kind, "某人", String::new(), DateTime::UNIX_EPOCH);
        assert_eq!(
            account(AccountKind::Staff).second_factor_kind(),
            SecondFactorKind::Totp
        );
        assert_eq!(
            account(AccountKind::Resident).second_factor_kind(),
            SecondFactorKind::Sms
        );
        assert_eq!(
            account(AccountKind::Enterprise).second_factor_kind(),
            SecondFactorKind::Sms
        );
        assert_eq!(
            account(AccountKind::Service).second_factor_kind(),
            SecondFactorKind::None
        );
    }
}
