//! Text messages to residents' phones, for their sign-in codes (and later the hotline's
//! SMS intake). The SMS gateway is outside the city's platform, so it sits behind
//! [`SmsGateway`], with two adapters: [`LoggingSmsGateway`] for the demo and development
//! (the message goes to the log, phone masked), and [`HttpSmsGateway`] for a real gateway
//! reached over HTTP (the city's SMS platform, 政务短信平台, or an operator's relay).

use async_trait::async_trait;
use huimin_domain::access::mask_phone;

/// Why a message was not handed to the gateway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway could not be reached: {0}")]
    Unreachable(String),
    #[error("the SMS gateway refused the message: {0}")]
    Refused(String),
}

/// Sends one text message. `Ok` means the gateway accepted it for delivery.
#[async_trait]
pub trait SmsGateway: Send + Sync {
    async fn send(&self, phone: &str, text: &str) -> Result<(), SmsError>;
}

/// Writes each message to the log (target `huimin::sms`, level INFO) instead of sending
/// it: the demo's gateway, so that a resident's sign-in code can be read off the console.
/// The phone number is masked; the text is logged whole.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingSmsGateway;

#[async_trait]
impl SmsGateway for LoggingSmsGateway {
    async fn send(&self, phone: &str, text: &str) -> Result<(), SmsError> {
        tracing::info!(target: "huimin::sms", phone = %mask_phone(phone), text, "SMS (logged, not sent)");
        Ok(())
    }
}

/// A gateway reached by HTTP: each message is a `POST` of
/// `{"phone": "13812345678", "text": "…", "signature": "惠民"}` to `url`, with
/// `Authorization: Bearer TOKEN` when a token is configured; any 2xx answer means
/// accepted. Adapt a provider whose API differs with a small relay, or implement
/// [`SmsGateway`] for it. Plain HTTP only: put an HTTPS gateway behind a local TLS proxy.
#[derive(Debug, Clone)]
pub struct HttpSmsGateway {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
    signature: String,
}

impl HttpSmsGateway {
    /// A gateway at `url`; requests time out after `timeout`.
    pub fn new(
        url: impl Into<String>,
        token: Option<String>,
        signature: impl Into<String>,
        timeout: std::time::Duration,
    ) -> Result<HttpSmsGateway, SmsError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|error| SmsError::Unreachable(error.to_string()))?;
        Ok(HttpSmsGateway {
            client,
            url: url.into(),
            token,
            signature: signature.into(),
        })
    }
}

#[async_trait]
impl SmsGateway for HttpSmsGateway {
    async fn send(&self, phone: &str, text: &str) -> Result<(), SmsError> {
        let mut request = self.client.post(&self.url).json(&serde_json::json!({
            "phone": phone,
            "text": text,
            "signature": self.signature,
        }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|error| SmsError::Unreachable(error.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let body = response.text().await.unwrap_or_default();
            let body: String = body.chars().take(200).collect();
            Err(SmsError::Refused(format!("{status}: {body}")))
        }
    }
}
