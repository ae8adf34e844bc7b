//! The API's NATS connection: credentials from files or a Secret (never logged), reconnecting
//! forever, and resubscribing after a server restart (async-nats does both).

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use super::ControlError;

/// Where the credentials come from; exactly one, or none for an open server.
#[derive(Clone, Default)]
pub enum CredentialsSource {
    #[default]
    None,
    UserPasswordFile {
        user: String,
        password_file: PathBuf,
    },
    TokenFile(PathBuf),
    NkeySeedFile(PathBuf),
    CredsFile(PathBuf),
    /// A Secret with the keys `user` and `password`, or `token`, or `nkey` (a seed), or `creds`.
    Secret {
        namespace: String,
        name: String,
    },
}

/// Says which kind, never what.
impl std::fmt::Debug for CredentialsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => write!(f, "none"),
            Self::UserPasswordFile { user, password_file } => {
                write!(f, "user {user} with the password in {}", password_file.display())
            }
            Self::TokenFile(path) => write!(f, "token in {}", path.display()),
            Self::NkeySeedFile(path) => write!(f, "nkey seed in {}", path.display()),
            Self::CredsFile(path) => write!(f, "credentials file {}", path.display()),
            Self::Secret { namespace, name } => write!(f, "Secret {namespace}/{name}"),
        }
    }
}

enum Credentials {
    None,
    UserPassword(String, String),
    Token(String),
    NkeySeed(String),
    Creds(String),
}

fn read(path: &PathBuf, what: &str) -> Result<String, ControlError> {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_owned())
        .map_err(|e| ControlError::Credentials(format!("cannot read the {what} file {}: {e}", path.display())))
}

async fn load(client: &Client, source: &CredentialsSource) -> Result<Credentials, ControlError> {
    Ok(match source {
        CredentialsSource::None => Credentials::None,
        CredentialsSource::UserPasswordFile { user, password_file } => {
            Credentials::UserPassword(user.clone(), read(password_file, "password")?)
        }
        CredentialsSource::TokenFile(path) => Credentials::Token(read(path, "token")?),
        CredentialsSource::NkeySeedFile(path) => Credentials::NkeySeed(read(path, "nkey seed")?),
        CredentialsSource::CredsFile(path) => Credentials::Creds(read(path, "credentials")?),
        CredentialsSource::Secret { namespace, name } => {
            let secret = Api::<Secret>::namespaced(client.clone(), namespace)
                .get(name)
                .await
                .map_err(|e| ControlError::Credentials(format!("cannot read the Secret {namespace}/{name}: {e}")))?;
            let data = secret.data.unwrap_or_default();
            let key = |k: &str| data.get(k).map(|v| String::from_utf8_lossy(&v.0).trim().to_owned());
            match (key("user"), key("password"), key("token"), key("nkey"), key("creds")) {
                (Some(user), Some(password), None, None, None) => Credentials::UserPassword(user, password),
                (None, None, Some(token), None, None) => Credentials::Token(token),
                (None, None, None, Some(seed), None) => Credentials::NkeySeed(seed),
                (None, None, None, None, Some(creds)) => Credentials::Creds(creds),
                _ => {
                    return Err(ControlError::Credentials(format!(
                        "the Secret {namespace}/{name} must hold exactly one of: the keys user and password, token, nkey, creds"
                    )));
                }
            }
        }
    })
}

pub async fn connect(
    client: &Client,
    url: &str,
    source: &CredentialsSource,
    name: &str,
) -> Result<async_nats::Client, ControlError> {
    let options = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("control API: connected to NATS"),
                async_nats::Event::Disconnected => tracing::warn!("control API: disconnected from NATS, reconnecting"),
                other => tracing::debug!("control API: NATS event {other}"),
            }
        });
    let options = match load(client, source).await? {
        Credentials::None => options,
        Credentials::UserPassword(user, password) => options.user_and_password(user, password),
        Credentials::Token(token) => options.token(token),
        Credentials::NkeySeed(seed) => options.nkey(seed),
        Credentials::Creds(creds) => options
            .credentials(&creds)
            .map_err(|e| ControlError::Credentials(format!("the credentials are not a NATS .creds file: {e}")))?,
    };
    options.connect(url).await.map_err(|e| ControlError::Connect(format!("{url}: {e}")))
}
