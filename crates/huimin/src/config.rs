//! Typed configuration, loaded in layers: defaults → a TOML file → `HUIMIN__…` environment
//! variables (`HUIMIN__DATABASE__URL`, `HUIMIN__SERVER__LISTEN`, …). Unknown keys are
//! rejected, so a typo fails at start-up instead of being silently ignored. Secrets print
//! redacted.

use anyhow::Context;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub audit: AuditConfig,
    pub sms: SmsConfig,
    pub oidc: OidcConfig,
    pub tls: TlsConfig,
    pub exchange: ExchangeConfig,
    pub cases: CasesConfig,
}

/// Cases' time limits, duplicate checks and escalation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CasesConfig {
    /// The office hours working-time limits count, e.g. `08:30-12:00,13:30-17:30`.
    pub office_hours: String,
    /// From this share of a stage's limit the stage is yellow (预警).
    pub yellow_share: f64,
    /// A report this close (metres) to an open case of its category may duplicate it.
    pub duplicate_radius_m: f64,
    /// … and reported within this many days of it.
    pub duplicate_window_days: u32,
    /// How often red stages are looked for and escalated (督办).
    pub escalation_interval_seconds: u64,
}

impl Default for CasesConfig {
    fn default() -> Self {
        let web = huimin_web::CaseSettings::default();
        CasesConfig {
            office_hours: "08:30-12:00,13:30-17:30".to_owned(),
            yellow_share: web.yellow_share,
            duplicate_radius_m: web.duplicates.radius_m,
            duplicate_window_days: u32::try_from(web.duplicates.window.num_days()).unwrap_or(7),
            escalation_interval_seconds: 60,
        }
    }
}

/// Sharing requests and the consumer API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExchangeConfig {
    /// The provider's deadline for a conditional sharing request, in working days.
    pub decision_days: u32,
    /// The most subjects one batch look-up may name.
    pub batch_limit: usize,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        let web = huimin_web::WebConfig::default();
        ExchangeConfig {
            decision_days: web.decision_days,
            batch_limit: web.exchange_batch_limit,
        }
    }
}

/// HTTPS, and certificate login when a client CA bundle is given. All paths are PEM
/// files; with no certificate the server speaks plain HTTP (behind a TLS proxy, or the
/// demo on 127.0.0.1).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// The server's certificate chain.
    pub certificate: Option<std::path::PathBuf>,
    /// The server's private key (PKCS #8, PKCS #1 or SEC1).
    pub private_key: Option<std::path::PathBuf>,
    /// The CAs whose client certificates may sign in (certificate login).
    pub client_ca: Option<std::path::PathBuf>,
}

impl TlsConfig {
    /// The rustls settings, or `None` for plain HTTP.
    pub fn server_config(
        &self,
    ) -> anyhow::Result<Option<std::sync::Arc<huimin_web::tls::ServerConfig>>> {
        let (Some(certificate), Some(key)) = (&self.certificate, &self.private_key) else {
            anyhow::ensure!(
                self.certificate.is_none()
                    && self.private_key.is_none()
                    && self.client_ca.is_none(),
                "tls: set both tls.certificate and tls.private_key (and tls.client_ca only with them)"
            );
            return Ok(None);
        };
        let read = |path: &std::path::Path| {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))
        };
        let ca = self.client_ca.as_deref().map(read).transpose()?;
        let config =
            huimin_web::tls::server_config(&read(certificate)?, &read(key)?, ca.as_deref())
                .context("tls")?;
        Ok(Some(config))
    }
}

/// Single sign-on: Huimin as an OpenID Connect provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The issuer: the address other systems reach Huimin at, e.g.
    /// `https://huimin.yz.gov.cn`. Empty: `http://` and the address the server listens on.
    pub issuer: String,
    /// The directory of the ID-token signing keys (like `audit.key_directory`; a
    /// different directory, so the two keys rotate apart).
    pub key_directory: std::path::PathBuf,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: String::new(),
            key_directory: "huimin-oidc-keys".into(),
        }
    }
}

/// Where residents' sign-in codes are sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// `log` (the demo: messages are written to the log, not sent) or `http` (a gateway
    /// taking `POST {"phone", "text", "signature"}` at `url`).
    pub gateway: SmsGatewayKind,
    /// The HTTP gateway's address, e.g. `http://sms.gov.internal/send`.
    pub url: String,
    /// Sent as `Authorization: Bearer …` when set; printed redacted.
    pub token: Secret,
    /// The sender's signature (短信签名) the gateway puts on each message.
    pub signature: String,
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmsGatewayKind {
    Log,
    Http,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            gateway: SmsGatewayKind::Log,
            url: String::new(),
            token: Secret::default(),
            signature: "惠民".to_owned(),
            timeout_seconds: 5,
        }
    }
}

impl SmsConfig {
    /// The configured gateway.
    pub fn gateway(&self) -> anyhow::Result<std::sync::Arc<dyn huimin_web::sms::SmsGateway>> {
        Ok(match self.gateway {
            SmsGatewayKind::Log => std::sync::Arc::new(huimin_web::sms::LoggingSmsGateway),
            SmsGatewayKind::Http => std::sync::Arc::new(huimin_web::sms::HttpSmsGateway::new(
                self.url.clone(),
                (!self.token.0.is_empty()).then(|| self.token.0.clone()),
                self.signature.clone(),
                std::time::Duration::from_secs(self.timeout_seconds.max(1)),
            )?),
        })
    }
}

/// A secret setting: printed as `***` when set.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() { "" } else { "***" }.serialize(serializer)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The directory of the checkpoint signing keys; created with a first key when absent.
    /// Keep it off the database's disk and readable by the server's user only.
    pub key_directory: std::path::PathBuf,
    /// Seconds between signed checkpoints of the audit log.
    pub checkpoint_interval_seconds: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            key_directory: "huimin-audit-keys".into(),
            checkpoint_interval_seconds: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite:huimin.db` (default) or `postgres://user:password@host/database`.
    pub url: DatabaseUrl,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// A request taking longer is answered 408.
    pub request_timeout_seconds: u64,
    /// Largest accepted dataset upload (`POST /api/v1/catalogue/resources/…/batches`).
    pub upload_limit_bytes: usize,
    /// How long a dataset upload, with its import, may take before it is answered 408.
    pub upload_timeout_seconds: u64,
    /// Mark session cookies `Secure`. Browsers accept them from `http://127.0.0.1` and
    /// `localhost`; turn this off only to serve plain HTTP to another host in development.
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `huimin_web=debug,info`.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// A database URL whose password never reaches a log or `huimin config`'s output.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The real URL, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:?}", huimin_store::redact_url(&self.0))
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        huimin_store::redact_url(&self.0).serialize(serializer)
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: DatabaseUrl::new("sqlite:huimin.db"),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        let web = huimin_web::WebConfig::default();
        ServerConfig {
            listen: "127.0.0.1:8080".to_owned(),
            body_limit_bytes: web.body_limit_bytes,
            request_timeout_seconds: web.request_timeout_seconds,
            upload_limit_bytes: web.upload_limit_bytes,
            upload_timeout_seconds: web.upload_timeout_seconds,
            secure_cookies: web.secure_cookies,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Loads the layers. With no file given, `huimin.toml` in the working directory is read
    /// when it exists. `environment` is the process environment (passed in for tests).
    pub fn load(file: Option<&Path>, environment: &[(String, String)]) -> anyhow::Result<Config> {
        // The defaults go through `Serialize`, which redacts URLs with a password; the
        // default URL has none, so it survives unchanged.
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(
                    path.is_file(),
                    "configuration file {} does not exist",
                    path.display()
                );
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new("huimin.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("huimin.toml"))
            }
            None => {}
        }
        let variables: Vec<(String, String)> = environment
            .iter()
            .filter(|(key, _)| key.starts_with("HUIMIN__"))
            .cloned()
            .collect();
        let figment = variables.iter().fold(figment, |figment, (key, value)| {
            let path = key
                .trim_start_matches("HUIMIN__")
                .to_lowercase()
                .replace("__", ".");
            figment.merge((path, value.clone()))
        });
        let config: Config = figment.extract().context("invalid configuration")?;
        huimin_store::Backend::of_url(config.database.url.expose())
            .map_err(|error| anyhow::anyhow!("database.url: {}", error.message))?;
        config
            .server
            .listen
            .parse::<std::net::SocketAddr>()
            .with_context(|| {
                format!(
                    "server.listen '{}' is not an address such as 127.0.0.1:8080",
                    config.server.listen
                )
            })?;
        anyhow::ensure!(
            config.server.body_limit_bytes >= 1024,
            "server.body_limit_bytes must be at least 1024"
        );
        anyhow::ensure!(
            config.server.request_timeout_seconds >= 1,
            "server.request_timeout_seconds must be at least 1"
        );
        anyhow::ensure!(
            config.server.upload_limit_bytes >= config.server.body_limit_bytes,
            "server.upload_limit_bytes must be at least server.body_limit_bytes"
        );
        anyhow::ensure!(
            config.server.upload_timeout_seconds >= config.server.request_timeout_seconds,
            "server.upload_timeout_seconds must be at least server.request_timeout_seconds"
        );
        anyhow::ensure!(
            (1..=60).contains(&config.exchange.decision_days),
            "exchange.decision_days must be between 1 and 60 working days"
        );
        huimin_domain::case::limits::OfficeHours::parse(&config.cases.office_hours)
            .map_err(|fault| anyhow::anyhow!("cases.office_hours: {fault}"))?;
        anyhow::ensure!(
            config.cases.yellow_share > 0.0 && config.cases.yellow_share < 1.0,
            "cases.yellow_share must be between 0 and 1, such as 0.8"
        );
        anyhow::ensure!(
            config.cases.duplicate_radius_m > 0.0 && config.cases.duplicate_radius_m <= 5000.0,
            "cases.duplicate_radius_m must be between 0 and 5000 metres"
        );
        anyhow::ensure!(
            (1..=90).contains(&config.cases.duplicate_window_days),
            "cases.duplicate_window_days must be between 1 and 90 days"
        );
        anyhow::ensure!(
            config.cases.escalation_interval_seconds >= 1,
            "cases.escalation_interval_seconds must be at least 1"
        );
        anyhow::ensure!(
            (1..=1000).contains(&config.exchange.batch_limit),
            "exchange.batch_limit must be between 1 and 1000 subjects"
        );
        if config.sms.gateway == SmsGatewayKind::Http {
            anyhow::ensure!(
                config.sms.url.starts_with("http://"),
                "sms.url '{}' must be an http:// address when sms.gateway is http (put an HTTPS gateway behind a local TLS proxy)",
                config.sms.url
            );
        }
        Ok(config)
    }

    /// The effective configuration as TOML, secrets redacted (`huimin config`).
    pub fn to_redacted_toml(&self) -> String {
        toml_string(self)
    }

    pub fn web(&self) -> huimin_web::WebConfig {
        huimin_web::WebConfig {
            body_limit_bytes: self.server.body_limit_bytes,
            request_timeout_seconds: self.server.request_timeout_seconds,
            upload_limit_bytes: self.server.upload_limit_bytes,
            upload_timeout_seconds: self.server.upload_timeout_seconds,
            secure_cookies: self.server.secure_cookies,
            certificate_login: self.tls.client_ca.is_some(),
            decision_days: self.exchange.decision_days,
            exchange_batch_limit: self.exchange.batch_limit,
            cases: huimin_web::CaseSettings {
                // Checked when the configuration was read.
                office_hours: huimin_domain::case::limits::OfficeHours::parse(
                    &self.cases.office_hours,
                )
                .unwrap_or_default(),
                yellow_share: self.cases.yellow_share,
                duplicates: huimin_domain::case::duplicates::DuplicateRule {
                    radius_m: self.cases.duplicate_radius_m,
                    window: chrono::Duration::days(i64::from(self.cases.duplicate_window_days)),
                    ..huimin_domain::case::duplicates::DuplicateRule::default()
                },
            },
            ..huimin_web::WebConfig::default()
        }
    }
}

fn toml_string(config: &Config) -> String {
    let value = serde_json::to_value(config).unwrap_or_default();
    let mut text = String::new();
    if let serde_json::Value::Object(sections) = value {
        for (section, fields) in sections {
            text.push_str(&format!("[{section}]\n"));
            if let serde_json::Value::Object(fields) = fields {
                for (key, value) in fields {
                    text.push_str(&format!("{key} = {value}\n"));
                }
            }
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn an_http_sms_gateway_needs_an_http_url_and_its_token_is_hidden() {
        let config = Config::load(
            None,
            &env(&[
                ("HUIMIN__SMS__GATEWAY", "http"),
                ("HUIMIN__SMS__URL", "http://sms.gov.internal/send"),
                ("HUIMIN__SMS__TOKEN", "sms-token-1234"),
            ]),
        )
        .unwrap();
        assert_eq!(config.sms.gateway, SmsGatewayKind::Http);
        assert!(config.sms.gateway().is_ok());
        let printed = config.to_redacted_toml();
        assert!(printed.contains("token = \"***\""), "{printed}");
        assert!(!printed.contains("sms-token-1234"));
        assert!(!format!("{config:?}").contains("sms-token-1234"));
        let refused = Config::load(None, &env(&[("HUIMIN__SMS__GATEWAY", "http")]))
            .unwrap_err()
            .to_string();
        assert!(refused.contains("sms.url"), "{refused}");
    }

    #[test]
    fn layers_apply_in_order_and_secrets_are_hidden() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("huimin.toml");
        std::fs::write(&file, "[server]\nlisten = \"0.0.0.0:9000\"\n[database]\nurl = \"postgres://huimin:hunter2@db/huimin\"\n").unwrap();
        let config = Config::load(
            Some(&file),
            &env(&[("HUIMIN__SERVER__LISTEN", "127.0.0.1:9100")]),
        )
        .unwrap();
        assert_eq!(
            config.server.listen, "127.0.0.1:9100",
            "environment beats the file"
        );
        assert_eq!(
            config.database.url.expose(),
            "postgres://huimin:hunter2@db/huimin",
            "file beats defaults"
        );
        assert_eq!(config.log.filter, "info", "defaults fill the rest");
        let printed = config.to_redacted_toml();
        assert!(
            printed.contains("postgres://huimin:***@db/huimin"),
            "{printed}"
        );
        assert!(!printed.contains("hunter2"));
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn defaults_need_no_file_and_unknown_keys_and_bad_values_are_refused() {
        let config = Config::load(None, &[]).unwrap();
        assert_eq!(config.database.url.expose(), "sqlite:huimin.db");
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("huimin.toml");
        std::fs::write(&file, "[server]\nlisten_address = \"x\"\n").unwrap();
        let error = format!("{:#}", Config::load(Some(&file), &[]).unwrap_err());
        assert!(error.contains("listen_address"), "{error}");
        let error = format!(
            "{:#}",
            Config::load(None, &env(&[("HUIMIN__SERVER__LISTEN", "nowhere")])).unwrap_err()
        );
        assert!(error.contains("server.listen"), "{error}");
        let error = format!(
            "{:#}",
            Config::load(None, &env(&[("HUIMIN__DATABASE__URL", "mysql://x")])).unwrap_err()
        );
        assert!(error.contains("database.url"), "{error}");
        assert!(Config::load(Some(Path::new("/nonexistent/huimin.toml")), &[]).is_err());
    }
}
