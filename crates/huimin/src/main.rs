//! The `huimin` command line: `serve`, `demo`, `import`, `config`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use huimin::config::{Config, DatabaseUrl};
use huimin::import::{ImportOptions, ImportPhase, InputFormat, RecordKind, TextEncoding};
use std::path::{Path, PathBuf};

/// mimalloc instead of the system allocator: measured faster on the import and the server,
/// which allocate many short strings (see ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "huimin",
    version,
    about = "惠民 Huimin — the city's shared base registries and services"
)]
struct Cli {
    /// A TOML configuration file (default: ./huimin.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the console with the configured database.
    Serve,
    /// Generate the synthetic demo city, load it and serve it.
    Demo {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 100_000)]
        people: u32,
        /// Database for the demo city.
        #[arg(long, default_value = "sqlite:huimin-demo.db")]
        database: String,
        /// Address to listen on (overrides the configuration).
        #[arg(long)]
        listen: Option<String>,
        /// Start from an empty SQLite file.
        #[arg(long)]
        fresh: bool,
        /// Skip the twelve departments' datasets (written beside the database and
        /// loaded in the background once the server is up).
        #[arg(long)]
        no_datasets: bool,
    },
    /// Import a department file: persons, legal entities or houses into the registries,
    /// or a department's dataset of a catalogued resource.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Print the effective configuration, secrets hidden.
    Config,
    /// Accounts: add one with its role (the password is read from HUIMIN_NEW_PASSWORD or
    /// the first line of standard input).
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// API tokens of department systems: issue or revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The audit log: verify it, sign a checkpoint now, or rotate the signing key.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Single sign-on: register a client system, or rotate the ID-token signing key.
    Oidc {
        #[command(subcommand)]
        command: OidcCommand,
    },
    /// Cases: replay every timeline and compare the indicators' facts with it.
    Cases {
        #[command(subcommand)]
        command: CasesCommand,
    },
}

#[derive(Subcommand)]
enum CasesCommand {
    /// Replay every case's timeline from its report and compare the facts the indicators
    /// count with the ones kept; exits with status 1 when any differ and are not fixed,
    /// or a timeline does not replay to its case.
    Replay {
        /// Rewrite the facts that differ (each rewrite audited).
        #[arg(long)]
        fix: bool,
    },
}

#[derive(Subcommand)]
enum OidcCommand {
    /// Register a system that signs its users in through Huimin; a confidential client's
    /// secret is printed once.
    AddClient {
        /// The client id: lower-case letters, digits, '.', '_' or '-'.
        client_id: String,
        #[arg(long)]
        name: String,
        /// An exact redirect URI (repeatable).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where the client may send users after signing out (repeatable).
        #[arg(long = "post-logout-uri")]
        post_logout_uris: Vec<String>,
        /// A browser or phone app that cannot keep a secret (PKCE only).
        #[arg(long)]
        public: bool,
        /// One of the city's own systems: users are not asked to consent.
        #[arg(long)]
        first_party: bool,
    },
    /// Make a new ID-token signing key; restart the server to sign with it (the JWKS keeps
    /// the old public key, so tokens already issued still verify).
    RotateKey,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue an API token to a service account; it is printed once and kept only as a
    /// hash.
    Create {
        login: String,
        /// A name for the token, to revoke it by.
        #[arg(long)]
        label: String,
        /// Days until it expires.
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// What it may do (repeatable); the scopes are persons:read.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Revoke a service account's tokens with this label.
    Revoke {
        login: String,
        #[arg(long)]
        label: String,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// People into the population registry.
    Persons(RegistryImport),
    /// Legal entities into the legal-entity registry.
    Entities(RegistryImport),
    /// Houses into the house registry.
    Houses(RegistryImport),
    /// A department's records of a catalogued resource, as one batch: checked against
    /// the resource's items, linked to the registries, with a quality report.
    Dataset(DatasetImportArgs),
}

#[derive(clap::Args)]
struct RegistryImport {
    file: PathBuf,
    /// csv or ndjson (default: from the file name; .ndjson/.jsonl are NDJSON).
    #[arg(long)]
    format: Option<InputFormat>,
    #[arg(long, value_enum, default_value_t = TextEncoding::Auto)]
    encoding: TextEncoding,
    /// Write nothing unless every row is valid, and then all rows in one transaction.
    #[arg(long)]
    atomic: bool,
    /// The supplying department, kept as each record's source.
    #[arg(long, default_value = "import")]
    source: String,
    /// Where to write rejected rows as JSON lines (default: FILE.report.jsonl).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Records per transaction. A first load into an empty registry is fastest in one
    /// transaction (it is loaded in bulk); smaller batches keep each one short.
    #[arg(long, default_value_t = 1_000_000)]
    batch_rows: usize,
    /// Database to import into (overrides the configuration).
    #[arg(long)]
    database: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LoadModeArg {
    /// The file is the whole resource: records it omits are deleted.
    Full,
    /// The file adds, changes and (with a `_delete` column) deletes records.
    Incremental,
}

#[derive(clap::Args)]
struct DatasetImportArgs {
    /// The resource's code in the catalogue, e.g. 301004/000001.
    resource: String,
    file: PathBuf,
    /// csv, ndjson or xlsx (default: from the file name; .ndjson/.jsonl are NDJSON, .xlsx
    /// a workbook, anything else CSV).
    #[arg(long)]
    format: Option<huimin_ingest::FileFormat>,
    /// The text encoding of a CSV or NDJSON file.
    #[arg(long, value_enum, default_value_t = TextEncoding::Auto)]
    encoding: TextEncoding,
    #[arg(long, value_enum, default_value_t = LoadModeArg::Incremental)]
    mode: LoadModeArg,
    /// All rows in one transaction, and none if any row is rejected. Otherwise each chunk
    /// is committed, and an interrupted import resumes when run again.
    #[arg(long)]
    atomic: bool,
    /// The batch id (default: from the file's SHA-256). The same batch sent twice is
    /// recognised and not written again.
    #[arg(long)]
    batch: Option<String>,
    /// Where to write rejected rows and the store's findings as JSON lines (default:
    /// FILE.report.jsonl).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Rows per chunk (and per transaction when not atomic).
    #[arg(long, default_value_t = 10_000)]
    chunk_rows: usize,
    /// Database to import into (overrides the configuration).
    #[arg(long)]
    database: Option<String>,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Add an account with one role, e.g. the first security administrator.
    Add {
        /// The login name: lower-case letters, digits, '.', '_' or '-'.
        login: String,
        /// The name shown for the account.
        #[arg(long)]
        name: String,
        /// The role's code, e.g. security_administrator, grid_worker.
        #[arg(long)]
        role: String,
        /// The area code the role is held over (city, district, street, community, grid).
        #[arg(long)]
        jurisdiction: String,
        #[arg(long)]
        department: Option<String>,
        /// A resident's identity number.
        #[arg(long)]
        citizen_id: Option<String>,
    },
    /// Add a resident's account for a person in the population registry (name and the
    /// phone their sign-in codes go to come from the registry).
    AddResident {
        login: String,
        /// The resident's identity number.
        #[arg(long)]
        citizen_id: String,
    },
    /// Bind a client certificate to an account, for certificate login: give the
    /// certificate (PEM) or its serial number (hex).
    BindCertificate {
        login: String,
        #[arg(long, conflicts_with = "serial", required_unless_present = "serial")]
        certificate: Option<std::path::PathBuf>,
        #[arg(long)]
        serial: Option<String>,
    },
    /// Add a service account (a department's system, signing in with API tokens).
    AddService {
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        jurisdiction: String,
        /// The department the system belongs to (its id in the catalogue, e.g. gongan).
        #[arg(long)]
        department: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every entry and tree head and check every checkpoint's signature; exits
    /// with status 1 and names each finding when the log was changed.
    Verify,
    /// Sign a checkpoint over every entry so far.
    Checkpoint,
    /// Make a new signing key; older checkpoints stay verifiable with the old public key.
    RotateKey,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let environment: Vec<(String, String)> = std::env::vars().collect();
    let mut config = Config::load(cli.config.as_deref(), &environment)?;
    match cli.command {
        Command::Config => {
            print!("{}", config.to_redacted_toml());
            Ok(())
        }
        Command::Account {
            command:
                AccountCommand::Add {
                    login,
                    name,
                    role,
                    jurisdiction,
                    department,
                    citizen_id,
                },
        } => {
            huimin::server::init_logging(&config);
            let role = parse_role(&role)?;
            let password = new_password()?;
            let store = huimin_store::connect(config.database.url.expose())
                .await
                .context("opening the database")?;
            let actor = operator();
            let new = huimin_web::accounts::NewAccount {
                login: login.clone(),
                display_name: name,
                password,
                role,
                jurisdiction,
                department,
                citizen_id,
            };
            huimin_web::accounts::add_account(
                store.as_ref(),
                new,
                &actor,
                huimin_web::Clock::now(&huimin_web::SystemClock),
            )
            .await?;
            println!("Added {login} as {} ({}).", role.name_zh(), role.code());
            Ok(())
        }
        Command::Token { command } => {
            huimin::server::init_logging(&config);
            let store = huimin_store::connect(config.database.url.expose())
                .await
                .context("opening the database")?;
            let actor = operator();
            let now = huimin_web::Clock::now(&huimin_web::SystemClock);
            match command {
                TokenCommand::Create {
                    login,
                    label,
                    days,
                    scopes,
                } => {
                    let token = huimin_web::accounts::issue_api_token(
                        store.as_ref(),
                        &login,
                        &label,
                        &scopes,
                        chrono::Duration::days(i64::from(days)),
                        &actor,
                        now,
                    )
                    .await?;
                    println!("{token}");
                    eprintln!(
                        "This token is shown once; keep it in the calling system's secret store."
                    );
                }
                TokenCommand::Revoke { login, label } => {
                    let event = actor.event("account.revoke_token", "account", login.clone());
                    let count = store.revoke_api_tokens(&login, &label, &event, now).await?;
                    println!("Revoked {count} token(s) of {login} labelled {label}.");
                }
            }
            Ok(())
        }
        Command::Account {
            command:
                AccountCommand::BindCertificate {
                    login,
                    certificate,
                    serial,
                },
        } => {
            huimin::server::init_logging(&config);
            let serial = match (certificate, serial) {
                (Some(path), _) => {
                    let pem = std::fs::read(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    huimin_web::tls::certificate_holder_of_pem(&pem)
                        .with_context(|| {
                            format!("{} holds no readable certificate", path.display())
                        })?
                        .serial
                }
                (None, Some(serial)) => huimin_web::tls::normalise_serial(&serial)
                    .with_context(|| format!("'{serial}' is not a hexadecimal serial number"))?,
                (None, None) => anyhow::bail!("give --certificate or --serial"),
            };
            let store = huimin_store::connect(config.database.url.expose())
                .await
                .context("opening the database")?;
            let event = huimin_domain::audit::AuditEvent {
                detail: format!("certificate serial {serial}"),
                ..operator().event("account.bind_certificate", "account", login.clone())
            };
            let now = huimin_web::Clock::now(&huimin_web::SystemClock);
            anyhow::ensure!(
                store.bind_certificate(&login, &serial, &event, now).await?,
                "no account is called '{login}'"
            );
            println!("Bound the certificate with serial {serial} to {login}.");
            Ok(())
        }
        Command::Account {
            command: AccountCommand::AddResident { login, citizen_id },
        } => {
            huimin::server::init_logging(&config);
            let password = new_password()?;
            let store = huimin_store::connect(config.database.url.expose())
                .await
                .context("opening the database")?;
            huimin_web::accounts::add_resident_account(
                store.as_ref(),
                store.as_ref(),
                &login,
                &citizen_id,
                &password,
                &operator(),
                huimin_web::Clock::now(&huimin_web::SystemClock),
            )
            .await?;
            println!(
                "Added the resident account {login}; sign-in codes go to the phone in the population registry."
            );
            Ok(())
        }
        Command::Account {
            command:
                AccountCommand::AddService {
                    login,
                    name,
                    role,
                    jurisdiction,
                    department,
                },
        } => {
            huimin::server::init_logging(&config);
            let role = parse_role(&role)?;
            let store = huimin_store::connect(config.database.url.expose())
                .await
                .context("opening the database")?;
            huimin_web::accounts::add_service_account(
                store.as_ref(),
                &login,
                &name,
                role,
                &jurisdiction,
                department.as_deref(),
                &operator(),
                huimin_web::Clock::now(&huimin_web::SystemClock),
            )
            .await?;
            println!(
                "Added the service account {login} as {} ({}).",
                role.name_zh(),
                role.code()
            );
            Ok(())
        }
        Command::Oidc { command } => {
            huimin::server::init_logging(&config);
            match command {
                OidcCommand::AddClient {
                    client_id,
                    name,
                    redirect_uris,
                    post_logout_uris,
                    public,
                    first_party,
                } => {
                    let store = huimin_store::connect(config.database.url.expose())
                        .await
                        .context("opening the database")?;
                    let new = huimin_web::oidc::NewClient {
                        client_id: client_id.clone(),
                        name,
                        redirect_uris,
                        post_logout_redirect_uris: post_logout_uris,
                        public,
                        first_party,
                    };
                    let secret = huimin_web::oidc::register_client(
                        store.as_ref(),
                        new,
                        &operator(),
                        huimin_web::Clock::now(&huimin_web::SystemClock),
                    )
                    .await?;
                    match secret {
                        Some(secret) => {
                            println!("{secret}");
                            eprintln!(
                                "Registered {client_id}. The secret above is shown once; keep it in the client's secret store."
                            );
                        }
                        None => {
                            println!("Registered the public client {client_id} (PKCE, no secret).")
                        }
                    }
                }
                OidcCommand::RotateKey => {
                    let keys = huimin::audit::KeyDirectory::new(&config.oidc.key_directory);
                    let signer = keys.rotate()?;
                    println!(
                        "New ID-token signing key {}; restart the server to sign with it.",
                        signer.id()
                    );
                }
            }
            Ok(())
        }
        Command::Audit { command } => {
            huimin::server::init_logging(&config);
            let keys = huimin::audit::KeyDirectory::new(&config.audit.key_directory);
            let store = huimin_store::connect(config.database.url.expose())
                .await
                .context("opening the database")?;
            match command {
                AuditCommand::Verify => {
                    let report = store.verify_audit(&keys.key_ring()?).await?;
                    print!("{}", huimin::audit::describe(&report));
                    if !report.is_intact() {
                        std::process::exit(1);
                    }
                }
                AuditCommand::Checkpoint => {
                    let now = huimin_web::Clock::now(&huimin_web::SystemClock);
                    match store.checkpoint_audit(&keys.signer()?, now).await? {
                        Some(checkpoint) => println!(
                            "Checkpoint of {} entries, root {}, key {}.",
                            checkpoint.size,
                            huimin_domain::audit::hex(&checkpoint.root),
                            checkpoint.key_id
                        ),
                        None => println!("The audit log is empty; nothing to sign."),
                    }
                }
                AuditCommand::RotateKey => {
                    let signer = keys.rotate()?;
                    println!("The audit log is now signed with key {}.", signer.id());
                }
            }
            Ok(())
        }
        Command::Cases {
            command: CasesCommand::Replay { fix },
        } => {
            huimin::server::init_logging(&config);
            let store = huimin_store::connect(config.database.url.expose())
                .await
                .context("opening the database")?;
            let settings = config.web().cases;
            let timing = huimin_domain::case::Timing {
                categories: huimin_domain::case::category::Categories::shipped()
                    .map_err(anyhow::Error::msg)?,
                time: huimin_domain::case::limits::WorkingTime {
                    calendar: huimin_domain::calendar::WorkingCalendar::official()?,
                    hours: settings.office_hours,
                },
                yellow_share: settings.yellow_share,
            };
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {pos} cases replayed {per_sec}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let now = huimin_web::Clock::now(&huimin_web::SystemClock);
            let report = huimin::cases::replay(store.as_ref(), &timing, fix, now, &mut |done| {
                bar.set_position(done)
            })
            .await?;
            bar.finish_and_clear();
            print!("{}", report.describe(fix));
            if report.broken > 0 || report.differing > report.rewritten {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Serve => {
            huimin::server::init_logging(&config);
            let store = huimin_store::connect(config.database.url.expose())
                .await
                .context("opening the database")?;
            huimin::server::serve(&config, store, |address| {
                println!("Huimin is serving at http://{address}/console");
            })
            .await
        }
        Command::Demo {
            seed,
            people,
            database,
            listen,
            fresh,
            no_datasets,
        } => {
            config.database.url = DatabaseUrl::new(database);
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            huimin::server::init_logging(&config);
            anyhow::ensure!(
                (100..=2_000_000).contains(&people),
                "--people must be between 100 and 2000000"
            );
            if fresh {
                remove_sqlite_file(config.database.url.expose())?;
            }
            let started = std::time::Instant::now();
            let store = huimin_store::connect(config.database.url.expose())
                .await
                .context("opening the database")?;
            let clock = huimin_web::SystemClock;
            let datasets = (!no_datasets)
                .then(|| huimin::demo::datasets_directory(config.database.url.expose()));
            let load = huimin::demo::load_demo_city(
                store.as_ref(),
                seed,
                people,
                huimin_web::Clock::today(&clock),
                huimin_web::Clock::now(&clock),
                datasets.as_deref(),
            )
            .await?;
            let catalogue = huimin::demo::publish_demo_catalogue(
                store.as_ref(),
                huimin_web::Clock::now(&clock),
            )
            .await
            .context("publishing the demo catalogue")?;
            huimin::demo::sample_sharing_request(store.as_ref(), huimin_web::Clock::now(&clock))
                .await
                .context("making the demo's sharing request")?;
            let grid = store
                .areas(&[huimin_domain::area::AreaLevel::Grid])
                .await?
                .first()
                .map(|area| area.code.clone())
                .context("the demo city has no grid")?;
            let logins = huimin_web::accounts::add_demo_accounts(
                store.as_ref(),
                store.as_ref(),
                &grid[..6],
                &grid,
                huimin_web::Clock::now(&clock),
            )
            .await?;
            println!(
                "Demo accounts (password {}): {} — staff set up a one-time code at their first sign-in; \
                 the resident's SMS codes are written to this log.",
                huimin_web::accounts::DEMO_PASSWORD,
                logins.join(", ")
            );
            println!(
                "Demo city (seed {seed}): {} people, {} households, {} houses, {} legal entities, {} grids{}.",
                load.people,
                load.households,
                load.houses,
                load.entities,
                load.grids,
                if load.skipped {
                    " — already loaded"
                } else {
                    ""
                }
            );
            if load.cases > 0 {
                println!(
                    "Cases: {} reports over the year before today, {} still open.",
                    load.cases, load.open_cases
                );
            }
            println!(
                "Catalogue: {} departments, {} information resources ({} published now).",
                catalogue.departments, catalogue.resources, catalogue.published
            );
            if let Some(directory) = datasets {
                // The departments send their files once the city is served, as they
                // would: through the same import, one batch per file.
                println!(
                    "Department datasets: loading the files in {} in the background.",
                    directory.display()
                );
                let store = store.clone();
                tokio::spawn(async move {
                    match huimin::demo::load_department_datasets(
                        store.as_ref(),
                        &directory,
                        &huimin_web::SystemClock,
                    )
                    .await
                    {
                        Ok(lines) => {
                            tracing::info!(files = lines.len(), "loaded the departments' datasets")
                        }
                        Err(error) => tracing::error!(
                            error = format!("{error:#}"),
                            "loading the departments' datasets failed"
                        ),
                    }
                });
            }
            huimin::server::serve(&config, store, |address| {
                println!(
                    "Ready in {:.1} s. Open http://{address}/console",
                    started.elapsed().as_secs_f64()
                );
            })
            .await
        }
        Command::Import { what } => {
            let (kind, arguments) = match what {
                ImportCommand::Persons(arguments) => (RecordKind::Persons, arguments),
                ImportCommand::Entities(arguments) => (RecordKind::Entities, arguments),
                ImportCommand::Houses(arguments) => (RecordKind::Houses, arguments),
                ImportCommand::Dataset(arguments) => {
                    if let Some(database) = &arguments.database {
                        config.database.url = DatabaseUrl::new(database.clone());
                    }
                    huimin::server::init_logging(&config);
                    return run_dataset_import(&config, arguments).await;
                }
            };
            if let Some(database) = arguments.database {
                config.database.url = DatabaseUrl::new(database);
            }
            huimin::server::init_logging(&config);
            run_import(
                &config,
                kind,
                &arguments.file,
                arguments.format,
                arguments.encoding,
                arguments.atomic,
                arguments.source,
                arguments.report,
                arguments.batch_rows,
            )
            .await
        }
    }
}

fn report_path(file: &Path, report: Option<PathBuf>) -> PathBuf {
    report.unwrap_or_else(|| {
        let mut name = file.as_os_str().to_owned();
        name.push(".report.jsonl");
        PathBuf::from(name)
    })
}

fn input_format(file: &Path, format: Option<InputFormat>) -> InputFormat {
    format.unwrap_or_else(
        || match file.extension().and_then(|extension| extension.to_str()) {
            Some("ndjson" | "jsonl") => InputFormat::Ndjson,
            _ => InputFormat::Csv,
        },
    )
}

async fn run_dataset_import(config: &Config, arguments: DatasetImportArgs) -> anyhow::Result<()> {
    use huimin_ingest::{DatasetImport, DatasetOutcome, FileFormat, IngestError};
    let report = report_path(&arguments.file, arguments.report.clone());
    let store = huimin_store::connect(config.database.url.expose())
        .await
        .context("opening the database")?;
    let import = DatasetImport {
        resource: arguments.resource,
        format: arguments.format.unwrap_or_else(|| {
            arguments
                .file
                .to_str()
                .and_then(FileFormat::from_file_name)
                .unwrap_or(FileFormat::Csv)
        }),
        report: Some(report.clone()),
        file: arguments.file,
        encoding: arguments.encoding,
        mode: match arguments.mode {
            LoadModeArg::Full => huimin_domain::dataset::LoadMode::Full,
            LoadModeArg::Incremental => huimin_domain::dataset::LoadMode::Incremental,
        },
        atomic: arguments.atomic,
        batch: arguments.batch,
        chunk_rows: arguments.chunk_rows.max(1),
        actor: huimin_domain::audit::Actor::system("import"),
    };
    let outcome = huimin_ingest::import_dataset(
        store.as_ref(),
        store.as_ref(),
        &import,
        &|| huimin_web::Clock::now(&huimin_web::SystemClock),
        &mut |line| {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        },
    )
    .await
    .map_err(|error| match &error {
        // The file's own faults, in both languages.
        IngestError::Header { message_zh, .. } | IngestError::Unreadable { message_zh, .. } => {
            anyhow::anyhow!("{error}\n{message_zh}")
        }
        _ => anyhow::Error::new(error),
    })?;
    match outcome {
        DatasetOutcome::Aborted { rejected, .. } => {
            println!(
                "Atomic import: {rejected} rows were rejected, so nothing was written. They are listed in {}.",
                report.display()
            );
            std::process::exit(1);
        }
        DatasetOutcome::Committed { summary, again } => {
            if again {
                println!(
                    "Batch {} was loaded before (at {}); nothing was written again.",
                    summary.batch_id,
                    huimin_domain::time::shanghai_display(summary.started_at)
                );
            }
            let counts = summary.counts;
            println!(
                "Batch {}: {} rows read; {} inserted, {} updated, {} unchanged, {} deleted, {} rejected, {} unlinked.",
                summary.batch_id,
                summary.tally.rows,
                counts.inserted,
                counts.updated,
                counts.unchanged,
                counts.deleted,
                counts.rejected,
                counts.unlinked
            );
            if let Some(quality) = summary.quality {
                println!(
                    "Quality {:.1}: completeness {:.3}, validity {:.3}, uniqueness {:.3}, timeliness {:.3}, linkage {:.3}.",
                    quality.score(),
                    quality.completeness,
                    quality.validity,
                    quality.uniqueness,
                    quality.timeliness,
                    quality.linkage
                );
            }
            if !again && (counts.rejected > 0 || counts.unlinked > 0) {
                println!(
                    "Rejected rows and unlinked subjects are listed in {}.",
                    report.display()
                );
            }
            let disputes = store
                .disputes(
                    &huimin_domain::storage::DisputeQuery {
                        batch_id: Some(summary.batch_id.clone()),
                        open: Some(true),
                        ..Default::default()
                    },
                    huimin_domain::storage::PageRequest::new(1, 1),
                )
                .await?
                .total;
            if disputes > 0 {
                println!(
                    "{disputes} open disputes: values that differ from the registry's authoritative source, sent to its department (GET /api/v1/disputes?batch={}).",
                    summary.batch_id
                );
            }
            Ok(())
        }
    }
}

fn remove_sqlite_file(url: &str) -> anyhow::Result<()> {
    let Some(path) = url.strip_prefix("sqlite:") else {
        anyhow::bail!("--fresh works only with a SQLite database");
    };
    let path = path
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or(path);
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        if Path::new(&file).exists() {
            std::fs::remove_file(&file).with_context(|| format!("removing {file}"))?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn run_import(
    config: &Config,
    kind: RecordKind,
    file: &Path,
    format: Option<InputFormat>,
    encoding: TextEncoding,
    atomic: bool,
    source: String,
    report: Option<PathBuf>,
    batch_rows: usize,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let format = input_format(file, format);
    let report_path = report_path(file, report);
    let mut report_file = std::io::BufWriter::new(
        std::fs::File::create(&report_path)
            .with_context(|| format!("creating {}", report_path.display()))?,
    );
    let store = huimin_store::connect(config.database.url.expose())
        .await
        .context("opening the database")?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} {per_sec} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let clock = huimin_web::SystemClock;
    let options = ImportOptions {
        kind,
        format,
        encoding,
        atomic,
        source,
        batch_rows: batch_rows.max(1),
        actor: huimin_domain::audit::Actor::system("import"),
    };
    let summary = huimin::import::import_bytes(
        store.as_ref(),
        bytes,
        &options,
        huimin_web::Clock::today(&clock),
        huimin_web::Clock::now(&clock),
        &mut report_file,
        &mut |phase, done, total| {
            bar.set_message(match phase {
                ImportPhase::Checking => "checked",
                ImportPhase::Writing => "written",
            });
            bar.set_length(total);
            bar.set_position(done);
        },
    )
    .await;
    bar.finish_and_clear();
    let summary = summary?;
    println!(
        "{} rows read ({}): {} inserted, {} updated, {} unchanged, {} rejected.",
        summary.rows,
        summary.encoding,
        summary.counts.inserted,
        summary.counts.updated,
        summary.counts.unchanged,
        summary.rejected_rows
    );
    if !summary.ignored_columns.is_empty() {
        println!("Ignored columns: {}", summary.ignored_columns.join(", "));
    }
    if summary.rejected_rows > 0 {
        println!("Rejected rows are listed in {}", report_path.display());
    }
    if summary.aborted {
        anyhow::bail!(
            "--atomic: nothing was written because {} rows are invalid",
            summary.rejected_rows
        );
    }
    Ok(())
}

fn parse_role(code: &str) -> anyhow::Result<huimin_domain::identity::Role> {
    huimin_domain::identity::Role::parse(code).with_context(|| {
        let codes: Vec<&str> = huimin_domain::identity::Role::ALL
            .iter()
            .map(|role| role.code())
            .collect();
        format!("unknown role '{code}'; the roles are {}", codes.join(", "))
    })
}

/// A new account's password: `HUIMIN_NEW_PASSWORD`, or the first line of standard input.
fn new_password() -> anyhow::Result<String> {
    match std::env::var("HUIMIN_NEW_PASSWORD") {
        Ok(password) => Ok(password),
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password")?;
            Ok(line.trim_end_matches(['\r', '\n']).to_owned())
        }
    }
}

/// The person at the command line, for the audit log.
fn operator() -> huimin_domain::audit::Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    huimin_domain::audit::Actor {
        account: format!("operator:{user}"),
        role: "command_line".to_owned(),
        ..huimin_domain::audit::Actor::default()
    }
}
