//! Accounts, role assignments and sessions, written once for both backends
//! (`identity_store!`, like `registry_store!`). Changes that matter to security append
//! their audit event in the same transaction, through the audit log's `append_in`.

pub(crate) const ACCOUNT_COLUMNS: &str = "login, kind, display_name, citizen_id, department, password_hash, \
     totp_secret, totp_enrolled_at_us, totp_last_step, failed_attempts, locked_until_us, disabled_at_us, created_at_us, phone, certificate_serial";

pub(crate) const SESSION_COLUMNS: &str = "login, stage, csrf_token, created_at_us, last_seen_at_us, client, sms_code_hash, sms_sent_at_us";

macro_rules! identity_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod identity_queries {
            use super::audit_queries::append_in;
            use crate::codec::{from_micros, micros};
            use crate::identity::{ACCOUNT_COLUMNS, SESSION_COLUMNS};
            use crate::storage_error;
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::identity::{
                Account, AccountKind, ApiToken, Role, RoleAssignment, Session, SessionStage,
            };
            use huimin_domain::storage::{IdentityStore, Page, PageRequest, StorageError, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn optional_time(row: &DatabaseRow, column: &str) -> StorageResult<Option<DateTime<Utc>>> {
                let micros: Option<i64> = row.try_get(column).map_err(|e| storage_error(column, e))?;
                micros.map(from_micros).transpose()
            }

            fn read_account(row: &DatabaseRow) -> StorageResult<Account> {
                let text = |column: &str| -> StorageResult<String> {
                    row.try_get(column).map_err(|e| storage_error(column, e))
                };
                let kind = text("kind")?;
                let failed: i64 = row.try_get("failed_attempts").map_err(|e| storage_error("failed_attempts", e))?;
                let last_step: Option<i64> =
                    row.try_get("totp_last_step").map_err(|e| storage_error("totp_last_step", e))?;
                let created: i64 = row.try_get("created_at_us").map_err(|e| storage_error("created_at_us", e))?;
                Ok(Account {
                    login: text("login")?,
                    kind: AccountKind::parse(&kind)
                        .ok_or_else(|| StorageError::new(format!("account.kind: unknown kind '{kind}'")))?,
                    display_name: text("display_name")?,
                    citizen_id: row.try_get("citizen_id").map_err(|e| storage_error("citizen_id", e))?,
                    department: row.try_get("department").map_err(|e| storage_error("department", e))?,
                    password_hash: text("password_hash")?,
                    totp_secret: row.try_get("totp_secret").map_err(|e| storage_error("totp_secret", e))?,
                    totp_enrolled_at: optional_time(row, "totp_enrolled_at_us")?,
                    totp_last_step: last_step.map(|step| step as u64),
                    failed_attempts: u32::try_from(failed).unwrap_or(u32::MAX),
                    locked_until: optional_time(row, "locked_until_us")?,
                    disabled_at: optional_time(row, "disabled_at_us")?,
                    created_at: from_micros(created)?,
                    phone: row.try_get("phone").map_err(|e| storage_error("phone", e))?,
                    certificate_serial: row
                        .try_get("certificate_serial")
                        .map_err(|e| storage_error("certificate_serial", e))?,
                })
            }

            fn read_session(row: &DatabaseRow) -> StorageResult<Session> {
                let text = |column: &str| -> StorageResult<String> {
                    row.try_get(column).map_err(|e| storage_error(column, e))
                };
                let stage = text("stage")?;
                let created: i64 = row.try_get("created_at_us").map_err(|e| storage_error("created_at_us", e))?;
                let seen: i64 = row.try_get("last_seen_at_us").map_err(|e| storage_error("last_seen_at_us", e))?;
                Ok(Session {
                    login: text("login")?,
                    stage: SessionStage::parse(&stage)
                        .ok_or_else(|| StorageError::new(format!("session.stage: unknown stage '{stage}'")))?,
                    csrf_token: text("csrf_token")?,
                    created_at: from_micros(created)?,
                    last_seen_at: from_micros(seen)?,
                    client: text("client")?,
                    sms_code: {
                        let hash: Option<Vec<u8>> =
                            row.try_get("sms_code_hash").map_err(|e| storage_error("sms_code_hash", e))?;
                        let sent = optional_time(row, "sms_sent_at_us")?;
                        hash.zip(sent)
                    },
                })
            }

            use crate::audit::audited;

            #[async_trait]
            impl IdentityStore for $store {
                async fn create_account(&self, account: &Account, audit: &AuditEvent) -> StorageResult<bool> {
                    let at = account.created_at;
                    Ok(audited!(self, audit, at, |transaction| {
                        let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "INSERT INTO account ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                             ON CONFLICT (login) DO NOTHING"
                        )))
                        .bind(account.login.as_str())
                        .bind(account.kind.code())
                        .bind(account.display_name.as_str())
                        .bind(account.citizen_id.as_deref())
                        .bind(account.department.as_deref())
                        .bind(account.password_hash.as_str())
                        .bind(account.totp_secret.as_deref())
                        .bind(account.totp_enrolled_at.map(micros))
                        .bind(account.totp_last_step.map(|step| step as i64))
                        .bind(i64::from(account.failed_attempts))
                        .bind(account.locked_until.map(micros))
                        .bind(account.disabled_at.map(micros))
                        .bind(micros(account.created_at))
                        .bind(account.phone.as_deref())
                        .bind(account.certificate_serial.as_deref())
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("creating an account", e))?;
                        if inserted.rows_affected() == 0 {
                            return Ok(false);
                        }
                        true
                    }))
                }

                async fn account(&self, login: &str) -> StorageResult<Option<Account>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM account WHERE login = $1"
                    )))
                    .bind(login)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading an account", e))?;
                    row.as_ref().map(read_account).transpose()
                }

                async fn accounts(&self, page: PageRequest) -> StorageResult<Page<Account>> {
                    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM account")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("counting accounts", e))?;
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM account ORDER BY login LIMIT $1 OFFSET $2"
                    )))
                    .bind(i64::from(page.per_page))
                    .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("listing accounts", e))?;
                    Ok(Page {
                        items: rows.iter().map(read_account).collect::<StorageResult<_>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }

                async fn assign_role(
                    &self,
                    login: &str,
                    assignment: &RoleAssignment,
                    audit: &AuditEvent,
                    now: DateTime<Utc>,
                ) -> StorageResult<()> {
                    audited!(self, audit, now, |transaction| {
                        sqlx::query(
                            "INSERT INTO role_assignment (login, role, jurisdiction, department, valid_from_us, valid_until_us) \
                             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                        )
                        .bind(login)
                        .bind(assignment.role.code())
                        .bind(assignment.jurisdiction.as_str())
                        .bind(assignment.department.as_deref().unwrap_or(""))
                        .bind(micros(assignment.valid_from))
                        .bind(assignment.valid_until.map(micros))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("assigning a role", e))?;
                    });
                    Ok(())
                }

                async fn role_assignments(&self, login: &str) -> StorageResult<Vec<RoleAssignment>> {
                    let rows = sqlx::query(
                        "SELECT role, jurisdiction, department, valid_from_us, valid_until_us FROM role_assignment \
                         WHERE login = $1 ORDER BY valid_from_us, role, jurisdiction",
                    )
                    .bind(login)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading role assignments", e))?;
                    rows.iter()
                        .map(|row| {
                            let role: String = row.try_get("role").map_err(|e| storage_error("role", e))?;
                            let department: String =
                                row.try_get("department").map_err(|e| storage_error("department", e))?;
                            let from: i64 = row.try_get("valid_from_us").map_err(|e| storage_error("valid_from_us", e))?;
                            Ok(RoleAssignment {
                                role: Role::parse(&role)
                                    .ok_or_else(|| StorageError::new(format!("role_assignment.role: unknown role '{role}'")))?,
                                jurisdiction: row.try_get("jurisdiction").map_err(|e| storage_error("jurisdiction", e))?,
                                department: (!department.is_empty()).then_some(department),
                                valid_from: from_micros(from)?,
                                valid_until: optional_time(row, "valid_until_us")?,
                            })
                        })
                        .collect()
                }

                async fn record_sign_in_failure(
                    &self,
                    login: &str,
                    max_failures: u32,
                    lock_until: DateTime<Utc>,
                    audit: &AuditEvent,
                    now: DateTime<Utc>,
                ) -> StorageResult<bool> {
                    Ok(audited!(self, audit, now, |transaction| {
                        let locked: Option<(Option<i64>,)> = sqlx::query_as(
                            "UPDATE account SET \
                             locked_until_us = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until_us END, \
                             failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END \
                             WHERE login = $1 RETURNING locked_until_us",
                        )
                        .bind(login)
                        .bind(i64::from(max_failures))
                        .bind(micros(lock_until))
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("recording a failed sign-in", e))?;
                        locked.and_then(|(until,)| until).is_some_and(|until| until == micros(lock_until))
                    }))
                }

                async fn record_sign_in_success(
                    &self,
                    login: &str,
                    audit: &AuditEvent,
                    now: DateTime<Utc>,
                ) -> StorageResult<()> {
                    audited!(self, audit, now, |transaction| {
                        sqlx::query("UPDATE account SET failed_attempts = 0, locked_until_us = NULL WHERE login = $1")
                            .bind(login)
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("recording a sign-in", e))?;
                    });
                    Ok(())
                }

                async fn set_second_factor(
                    &self,
                    login: &str,
                    secret: &[u8],
                    enrolled_at: Option<DateTime<Utc>>,
                    last_step: Option<u64>,
                ) -> StorageResult<()> {
                    sqlx::query(
                        "UPDATE account SET totp_secret = $2, totp_enrolled_at_us = $3, totp_last_step = $4 WHERE login = $1",
                    )
                    .bind(login)
                    .bind(secret)
                    .bind(enrolled_at.map(micros))
                    .bind(last_step.map(|step| step as i64))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| storage_error("setting the second factor", e))?;
                    Ok(())
                }

                async fn create_session(&self, token_hash: &[u8], session: &Session) -> StorageResult<()> {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO session (token_hash, {SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                    )))
                    .bind(token_hash)
                    .bind(session.login.as_str())
                    .bind(session.stage.code())
                    .bind(session.csrf_token.as_str())
                    .bind(micros(session.created_at))
                    .bind(micros(session.last_seen_at))
                    .bind(session.client.as_str())
                    .bind(session.sms_code.as_ref().map(|(hash, _)| hash.as_slice()))
                    .bind(session.sms_code.as_ref().map(|(_, sent)| micros(*sent)))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| storage_error("creating a session", e))?;
                    Ok(())
                }

                async fn session(&self, token_hash: &[u8]) -> StorageResult<Option<Session>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {SESSION_COLUMNS} FROM session WHERE token_hash = $1"
                    )))
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading a session", e))?;
                    row.as_ref().map(read_session).transpose()
                }

                async fn bind_certificate(
                    &self,
                    login: &str,
                    serial: &str,
                    audit: &AuditEvent,
                    now: DateTime<Utc>,
                ) -> StorageResult<bool> {
                    Ok(audited!(self, audit, now, |transaction| {
                        let bound = sqlx::query("UPDATE account SET certificate_serial = $2 WHERE login = $1")
                            .bind(login)
                            .bind(serial)
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("binding a certificate", e))?;
                        if bound.rows_affected() == 0 {
                            return Ok(false);
                        }
                        true
                    }))
                }

                async fn account_for_certificate(
                    &self,
                    serial: &str,
                    citizen_id: Option<&str>,
                ) -> StorageResult<Option<Account>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM account WHERE certificate_serial = $1"
                    )))
                    .bind(serial)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("finding a certificate's account", e))?;
                    if let Some(row) = row {
                        return read_account(&row).map(Some);
                    }
                    let Some(citizen_id) = citizen_id else { return Ok(None) };
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM account WHERE citizen_id = $1 AND kind = 'staff' LIMIT 2"
                    )))
                    .bind(citizen_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("finding a certificate's account", e))?;
                    // Two staff accounts of one person: the certificate does not say which.
                    match rows.as_slice() {
                        [only] => read_account(only).map(Some),
                        _ => Ok(None),
                    }
                }

                async fn set_sms_code(
                    &self,
                    token_hash: &[u8],
                    code_hash: &[u8],
                    sent_at: DateTime<Utc>,
                ) -> StorageResult<()> {
                    sqlx::query("UPDATE session SET sms_code_hash = $2, sms_sent_at_us = $3 WHERE token_hash = $1")
                        .bind(token_hash)
                        .bind(code_hash)
                        .bind(micros(sent_at))
                        .execute(&self.pool)
                        .await
                        .map_err(|e| storage_error("keeping an SMS code", e))?;
                    Ok(())
                }

                async fn advance_session(
                    &self,
                    old_hash: &[u8],
                    new_hash: &[u8],
                    stage: SessionStage,
                    now: DateTime<Utc>,
                ) -> StorageResult<()> {
                    sqlx::query(
                        "UPDATE session SET token_hash = $2, stage = $3, last_seen_at_us = $4, sms_code_hash = NULL, \
                         sms_sent_at_us = NULL WHERE token_hash = $1",
                    )
                    .bind(old_hash)
                    .bind(new_hash)
                    .bind(stage.code())
                    .bind(micros(now))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| storage_error("advancing a session", e))?;
                    Ok(())
                }

                async fn touch_session(&self, token_hash: &[u8], now: DateTime<Utc>) -> StorageResult<()> {
                    sqlx::query("UPDATE session SET last_seen_at_us = $2 WHERE token_hash = $1")
                        .bind(token_hash)
                        .bind(micros(now))
                        .execute(&self.pool)
                        .await
                        .map_err(|e| storage_error("touching a session", e))?;
                    Ok(())
                }

                async fn end_session(&self, token_hash: &[u8], audit: &AuditEvent, now: DateTime<Utc>) -> StorageResult<()> {
                    audited!(self, audit, now, |transaction| {
                        sqlx::query("DELETE FROM session WHERE token_hash = $1")
                            .bind(token_hash)
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("ending a session", e))?;
                    });
                    Ok(())
                }

                async fn create_api_token(
                    &self,
                    token_hash: &[u8],
                    token: &ApiToken,
                    audit: &AuditEvent,
                ) -> StorageResult<()> {
                    audited!(self, audit, token.created_at, |transaction| {
                        sqlx::query(
                            "INSERT INTO api_token (token_hash, login, label, scopes, created_at_us, expires_at_us, revoked_at_us) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(token_hash)
                        .bind(token.login.as_str())
                        .bind(token.label.as_str())
                        .bind(token.scopes.join(" "))
                        .bind(micros(token.created_at))
                        .bind(micros(token.expires_at))
                        .bind(token.revoked_at.map(micros))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("keeping an API token", e))?;
                    });
                    Ok(())
                }

                async fn api_token(&self, token_hash: &[u8]) -> StorageResult<Option<ApiToken>> {
                    let row = sqlx::query(
                        "SELECT login, label, scopes, created_at_us, expires_at_us, revoked_at_us FROM api_token \
                         WHERE token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading an API token", e))?;
                    let Some(row) = row else { return Ok(None) };
                    let scopes: String = row.try_get("scopes").map_err(|e| storage_error("scopes", e))?;
                    let created: i64 = row.try_get("created_at_us").map_err(|e| storage_error("created_at_us", e))?;
                    let expires: i64 = row.try_get("expires_at_us").map_err(|e| storage_error("expires_at_us", e))?;
                    Ok(Some(ApiToken {
                        login: row.try_get("login").map_err(|e| storage_error("login", e))?,
                        label: row.try_get("label").map_err(|e| storage_error("label", e))?,
                        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                        created_at: from_micros(created)?,
                        expires_at: from_micros(expires)?,
                        revoked_at: optional_time(&row, "revoked_at_us")?,
                    }))
                }

                async fn revoke_api_tokens(
                    &self,
                    login: &str,
                    label: &str,
                    audit: &AuditEvent,
                    now: DateTime<Utc>,
                ) -> StorageResult<u64> {
                    Ok(audited!(self, audit, now, |transaction| {
                        sqlx::query(
                            "UPDATE api_token SET revoked_at_us = $3 WHERE login = $1 AND label = $2 AND revoked_at_us IS NULL",
                        )
                        .bind(login)
                        .bind(label)
                        .bind(micros(now))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("revoking API tokens", e))?
                        .rows_affected()
                    }))
                }

                async fn end_sessions_of(&self, login: &str, audit: &AuditEvent, now: DateTime<Utc>) -> StorageResult<u64> {
                    Ok(audited!(self, audit, now, |transaction| {
                        sqlx::query("DELETE FROM session WHERE login = $1")
                            .bind(login)
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("ending sessions", e))?
                            .rows_affected()
                    }))
                }
            }
        }
    };
}

pub(crate) use identity_store;
