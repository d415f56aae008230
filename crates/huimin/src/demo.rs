//! `huimin demo`: generate the synthetic city, load it into the database, serve it.
//!
//! Loading is skipped when the database already holds the same city (same seed and size),
//! so a second start is instant; `--fresh` starts from an empty SQLite file.

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use huimin_city::DepartmentFile;
use huimin_domain::provenance::Provenance;
use huimin_domain::storage::{CaseStore, PageRequest};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `demo` loaded, for the summary it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoLoad {
    pub people: u64,
    pub households: u64,
    pub houses: u64,
    pub entities: u64,
    pub grids: u64,
    /// The year of cases loaded, and how many of them are still open (both 0 when the
    /// store held cases already).
    pub cases: u64,
    pub open_cases: u64,
    pub skipped: bool,
}

/// Generates the city for `seed`/`people` as of `today` and writes it, unless the store
/// already holds exactly that many people. With `datasets`, the twelve departments'
/// files of this city are written into that directory too (unless they are there).
pub async fn load_demo_city(
    store: &dyn huimin_domain::storage::Store,
    seed: u64,
    people: u32,
    today: NaiveDate,
    recorded_at: chrono::DateTime<Utc>,
    datasets: Option<&Path>,
) -> anyhow::Result<DemoLoad> {
    let started = Instant::now();
    let city = huimin_city::generate(&huimin_city::CityConfig { seed, people }, today);
    if let Some(directory) = datasets {
        write_department_files(&huimin_city::department_files(&city, seed), directory)?;
    }
    let grids = city
        .areas
        .iter()
        .filter(|area| area.level == huimin_domain::area::AreaLevel::Grid)
        .count() as u64;
    let batch = format!("demo-seed-{seed}-people-{people}");
    let existing = store.count_persons().await.context("counting people")?;
    // Loaded already when the store holds as many people as this city and its first person
    // came from this very seed and size (another city of the same size is not skipped).
    let already_loaded = existing == city.persons.len() as u64
        && match city.persons.first() {
            Some(first) => store
                .person(&first.citizen_id, None)
                .await
                .context("reading the demo city's first person")?
                .is_some_and(|stored| stored.provenance.batch == batch),
            None => true,
        };
    let mut load = DemoLoad {
        people: city.persons.len() as u64,
        households: city.households.len() as u64,
        houses: city.houses.len() as u64,
        entities: city.entities.len() as u64,
        grids,
        cases: 0,
        open_cases: 0,
        skipped: already_loaded,
    };
    // A year of cases, unless the store holds cases already.
    (load.cases, load.open_cases) = load_demo_cases(store, &city, seed).await?;
    load_demo_knowledge(store, recorded_at).await?;
    if load.skipped {
        tracing::info!(people = existing, "the demo city is already loaded");
        return Ok(load);
    }
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "generated the demo city"
    );
    let actor = huimin_domain::audit::Actor::system("demo-generator");
    let provenance = Provenance {
        source: "demo-generator".to_owned(),
        batch,
        recorded_at,
    };
    store
        .put_areas(&city.areas, &provenance, &actor)
        .await
        .context("writing areas")?;
    store
        .put_persons(&city.persons, &provenance, &actor)
        .await
        .context("writing people")?;
    store
        .put_households(&city.households, &provenance, &actor)
        .await
        .context("writing households")?;
    store
        .put_buildings(&city.buildings, &provenance, &actor)
        .await
        .context("writing buildings")?;
    store
        .put_houses(&city.houses, &provenance, &actor)
        .await
        .context("writing houses")?;
    store
        .put_entities(&city.entities, &provenance, &actor)
        .await
        .context("writing legal entities")?;
    load_demo_facilities(store, &city, seed, recorded_at).await?;
    store
        .refresh_statistics()
        .await
        .context("refreshing planner statistics")?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "loaded the demo city"
    );
    load.skipped = false;
    Ok(load)
}

/// Writes the demo city's manhole covers and buildings' safety appraisals, each kind in
/// one transaction with one audit entry.
async fn load_demo_facilities(
    store: &dyn huimin_domain::storage::Store,
    city: &huimin_city::City,
    seed: u64,
    recorded_at: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let made = huimin_city::facilities(city, seed, recorded_at);
    let actor = huimin_domain::audit::Actor::system("demo-generator");
    let event = huimin_domain::audit::AuditEvent {
        detail: format!("{} manhole covers", made.components.len()),
        ..actor.event("component.put", "component", "")
    };
    store
        .put_components(&made.components, &event)
        .await
        .context("writing manhole covers")?;
    let event = huimin_domain::audit::AuditEvent {
        detail: format!("{} safety appraisals", made.appraisals.len()),
        ..actor.event("appraisal.record", "building_appraisal", "")
    };
    store
        .record_appraisals(&made.appraisals, &event)
        .await
        .context("writing safety appraisals")?
        .context("an appraised building is not registered")?;
    Ok(())
}

/// Loads a year of synthetic cases (a fifth as many as the city has people) when the
/// store holds no case yet; returns how many, and how many are still open.
async fn load_demo_cases(
    store: &dyn CaseStore,
    city: &huimin_city::City,
    seed: u64,
) -> anyhow::Result<(u64, u64)> {
    let held = store
        .cases(
            &huimin_domain::case::CaseQuery::default(),
            PageRequest::new(1, 1),
        )
        .await
        .context("counting cases")?
        .total;
    if held > 0 {
        return Ok((0, 0));
    }
    let generated = huimin_city::cases(
        city,
        &huimin_city::CaseConfig {
            seed,
            count: (city.persons.len() as u32 / 5).max(200),
            area: None,
            first_id: 1,
        },
    );
    for chunk in generated.cases.chunks(5_000) {
        store
            .load_cases(chunk)
            .await
            .context("writing the demo's cases")?;
    }
    Ok((
        u64::from(generated.truth.reports),
        u64::from(generated.truth.open),
    ))
}

/// The hotline's answers the demo starts with, unless the knowledge base holds any.
const DEMO_ANSWERS: [(&str, &str, &str, &str); 8] = [
    (
        "H0101",
        "gongshui",
        "小区停水怎么办",
        "计划停水由供水公司提前 24 小时在小区公告；突发停水可拨打供水抢修热线 96000 报修，抢修一般在 4 小时内恢复供水。",
    ),
    (
        "H0102",
        "gongdian",
        "家中停电如何报修",
        "先确认是否为自家跳闸；整栋或片区停电请拨打 95598 报修，城区一般 45 分钟内到达现场。",
    ),
    (
        "H0106",
        "minzheng",
        "低保申请条件和材料",
        "家庭人均月收入低于当地最低生活保障标准、且家庭财产符合规定的，可向户籍所在地街道（乡镇）申请，需提供身份证、户口簿和收入证明。",
    ),
    (
        "H0105",
        "weijian",
        "异地就医如何备案",
        "参保人可通过国家医保服务平台 App 或社区医保窗口办理异地就医备案，备案后在定点医院直接结算。",
    ),
    (
        "H0104",
        "jiaoyu",
        "义务教育入学报名时间",
        "小学和初中新生报名一般在每年 6 月中下旬，按户籍和房产划片入学，具体以区教育局公告为准。",
    ),
    (
        "E0301",
        "zhujian",
        "夜间施工噪音扰民",
        "22 时至次日 6 时禁止产生噪声的建筑施工（抢修、抢险除外）；夜间施工须持有夜间施工许可，可向住建部门举报。",
    ),
    (
        "E0101",
        "chengguan",
        "生活垃圾清运时间",
        "小区生活垃圾每日清运两次，早 6 时至 8 时、晚 18 时至 20 时；暴露垃圾可随时通过 12345 反映。",
    ),
    (
        "G0402",
        "xiaofang",
        "电动自行车能否在楼道充电",
        "禁止在楼道、疏散通道、安全出口停放电动自行车或为其充电，请在集中充电点充电。",
    ),
];

/// Writes the demo's knowledge base when it is empty.
async fn load_demo_knowledge(
    store: &dyn huimin_domain::storage::KnowledgeStore,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    use huimin_domain::knowledge::{ArticleDraft, query_terms};
    if !store
        .articles_matching(&query_terms("停水"), None, 1)
        .await
        .context("reading the knowledge base")?
        .is_empty()
    {
        return Ok(());
    }
    let actor = huimin_domain::audit::Actor::system("demo-generator");
    for (category, department, title, body) in DEMO_ANSWERS {
        let article = ArticleDraft {
            title: title.to_owned(),
            body: body.to_owned(),
            category: Some(category.to_owned()),
            department: Some(department.to_owned()),
            valid_from: "2026-01-01".to_owned(),
            valid_until: None,
        }
        .validate(|_| true, "demo-generator", now)
        .map_err(|faults| anyhow::anyhow!("a demo answer: {faults:?}"))?;
        let event = actor.event("knowledge.create", "knowledge_article", "");
        store
            .put_article(&article, &event)
            .await
            .context("writing the knowledge base")?;
    }
    Ok(())
}

/// Where the demo keeps its departments' files: beside a SQLite database
/// (`huimin-demo.db` → `huimin-demo-datasets/`), else `huimin-demo-datasets/` here.
pub fn datasets_directory(database_url: &str) -> PathBuf {
    match database_url.strip_prefix("sqlite:") {
        Some(path) => {
            let path = Path::new(
                path.trim_start_matches("//")
                    .split('?')
                    .next()
                    .unwrap_or(path),
            );
            let stem = path.file_stem().map_or_else(
                || "huimin-demo".into(),
                |stem| stem.to_string_lossy().into_owned(),
            );
            path.with_file_name(format!("{stem}-datasets"))
        }
        None => PathBuf::from("huimin-demo-datasets"),
    }
}

/// The file of each department's resource, as it would send it: CSV, in GBK where the
/// department's system exports GBK. Files already there (from an earlier start of the
/// same city) are kept, so their digests — the batches' ids — stay the same.
pub fn write_department_files(files: &[DepartmentFile], directory: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    let mut index = String::new();
    for file in files {
        let path = directory.join(file.name);
        index.push_str(&format!("{}\t{}\n", file.resource, file.name));
        if path.exists() {
            continue;
        }
        let text = huimin_city::csv_text(file);
        let bytes = if file.gbk {
            let (encoded, _, unmappable) = encoding_rs::GBK.encode(&text);
            anyhow::ensure!(!unmappable, "{} has characters GBK cannot write", file.name);
            encoded.into_owned()
        } else {
            text.into_bytes()
        };
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::write(directory.join("index.tsv"), index).context("writing the datasets' index")?;
    Ok(())
}

/// Loads the files listed in `directory`'s index through the dataset import, one batch
/// each, as each department would send them; a file loaded before is recognised by its
/// digest and not written again. Returns a line per file.
pub async fn load_department_datasets(
    store: &dyn huimin_domain::storage::Store,
    directory: &Path,
    clock: &dyn huimin_web::Clock,
) -> anyhow::Result<Vec<String>> {
    use huimin_ingest::{DatasetImport, DatasetOutcome, FileFormat, TextEncoding, import_dataset};
    let index = std::fs::read_to_string(directory.join("index.tsv"))
        .with_context(|| format!("reading {}", directory.join("index.tsv").display()))?;
    let mut lines = Vec::new();
    for entry in index.lines() {
        let Some((resource, name)) = entry.split_once('\t') else {
            continue;
        };
        let file = directory.join(name);
        let import = DatasetImport {
            resource: resource.to_owned(),
            format: FileFormat::Csv,
            encoding: TextEncoding::Auto,
            mode: huimin_domain::dataset::LoadMode::Full,
            atomic: false,
            batch: None,
            report: Some(directory.join(format!("{name}.report.jsonl"))),
            chunk_rows: 10_000,
            actor: huimin_domain::audit::Actor::system("demo-department"),
            file,
        };
        let started = Instant::now();
        let outcome = import_dataset(store, store, &import, &|| clock.now(), &mut |_| {})
            .await
            .with_context(|| format!("loading {name} into {resource}"))?;
        if let DatasetOutcome::Committed { summary, again } = outcome {
            let counts = summary.counts;
            let line = format!(
                "{resource} {name}: {} rows, {} inserted, {} updated, {} rejected, {} unlinked{} in {:.1} s",
                summary.tally.rows,
                counts.inserted,
                counts.updated,
                counts.rejected,
                counts.unlinked,
                if again { " (loaded before)" } else { "" },
                started.elapsed().as_secs_f64()
            );
            tracing::info!("{line}");
            lines.push(line);
        }
    }
    Ok(lines)
}

/// A sharing request of the demo for the desk to decide: 民政 asks 公安 for residence
/// addresses for household checks (conditional, so it waits for 公安's data officer).
/// Made once; skipped, with a warning, when the deadline falls in a year the holiday
/// calendar does not cover yet.
pub async fn sample_sharing_request(
    store: &dyn huimin_domain::storage::Store,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    use huimin_domain::sharing::{RequestDraft, SharingRequest, on_arrival};
    let consumer =
        huimin_domain::catalogue::DepartmentId::parse("minzheng").map_err(anyhow::Error::msg)?;
    let existing = store
        .sharing_requests(
            &huimin_domain::storage::SharingQuery {
                consumer: Some(consumer),
                ..Default::default()
            },
            huimin_domain::storage::PageRequest::new(1, 1),
        )
        .await?;
    if existing.total > 0 {
        return Ok(());
    }
    let code = huimin_domain::catalogue::ResourceCode::parse("301001/000001")
        .map_err(anyhow::Error::msg)?;
    let published = store
        .resource(&code, None)
        .await?
        .context("the residence resource")?;
    let today = huimin_domain::time::shanghai_date(now);
    let terms = RequestDraft {
        consumer: "minzheng".into(),
        items: vec!["residence_address".into()],
        purpose: "household_check".into(),
        legal_basis: "《社会救助暂行办法》第十一条：家庭经济状况核对".into(),
        valid_until: (today + chrono::Duration::days(365)).to_string(),
        rate_per_minute: None,
        retention: "核对结束后 30 日内删除".into(),
    }
    .validate(
        &published.resource,
        &huimin_domain::access::default_purpose_kinds(),
        today,
    )
    .map_err(|errors| anyhow::anyhow!("the demo's sharing request: {errors:?}"))?;
    let calendar = huimin_domain::calendar::WorkingCalendar::official()?;
    let status = match on_arrival(
        &published.resource,
        today,
        calendar,
        huimin_domain::sharing::DEFAULT_DECISION_DAYS,
    ) {
        Ok(status) => status,
        Err(error) => {
            tracing::warn!(%error, "the demo's sharing request is not made");
            return Ok(());
        }
    };
    let request = SharingRequest {
        id: 0,
        terms,
        provider: published.resource.provider.clone(),
        resource_version: published.version,
        requested_at: now,
        requested_by: "minzheng.officer".into(),
        status,
        decided_at: None,
        decided_by: None,
    };
    let event = huimin_domain::audit::Actor::system("demo-generator").event(
        "sharing.request",
        "sharing_request",
        "",
    );
    store.create_sharing_request(&request, &event).await?;
    Ok(())
}

/// What the demo's catalogue holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueLoad {
    pub departments: usize,
    pub resources: usize,
    /// How many resources got a new version now (0 on a second start).
    pub published: usize,
}

/// Registers the synthetic city's departments and publishes their resources, as a
/// department's data officer would; what is already there unchanged is left alone.
pub async fn publish_demo_catalogue(
    store: &dyn huimin_domain::storage::CatalogueStore,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<CatalogueLoad> {
    use huimin_domain::catalogue::Publication;
    let catalogue = huimin_city::catalogue();
    let actor = huimin_domain::audit::Actor::system("demo-generator");
    for draft in &catalogue.departments {
        let department = draft
            .clone()
            .validate()
            .map_err(|errors| anyhow::anyhow!("demo department {}: {errors:?}", draft.id))?;
        if store.department(&department.id).await?.as_ref() != Some(&department) {
            let event = actor.event("department.put", "department", department.id.as_str());
            store.put_department(&department, &event, now).await?;
        }
    }
    let mut published = 0;
    for draft in &catalogue.resources {
        let resource = draft
            .clone()
            .validate()
            .map_err(|errors| anyhow::anyhow!("demo resource {}: {errors:?}", draft.code))?;
        let event = actor.event("resource.publish", "resource", resource.code.as_str());
        match store.publish_resource(&resource, &event, now).await? {
            Publication::Published { .. } => published += 1,
            Publication::Unchanged { .. } => {}
            refused => anyhow::bail!("publishing demo resource {}: {refused:?}", resource.code),
        }
    }
    Ok(CatalogueLoad {
        departments: catalogue.departments.len(),
        resources: catalogue.resources.len(),
        published,
    })
}
