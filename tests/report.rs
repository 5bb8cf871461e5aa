//! `report` and `replay` end to end on the bundled examples: the last look is what `analyze`
//! answers, the first failing look of each anytime-valid method equals what the method's one
//! call on the whole series says, and the HTML page opened in a real headless chromium shows
//! every metric's plot, band and verdict with the numbers `--json` gives.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_canary-judge");
const EXAMPLES: [&str; 4] = [
    "examples/checkout.yaml",
    "examples/checkout-statistical.yaml",
    "examples/checkout-regression.yaml",
    "examples/checkout-early.yaml",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(root())
        .env_remove("ARGO_ROLLOUTS_RPC_PLUGIN")
        .env_remove("CANARY_JUDGE_LOG")
        .output()
        .expect("binary runs")
}

fn json_of(args: &[&str]) -> Value {
    let o = run(args);
    assert!(
        matches!(o.status.code(), Some(0 | 1 | 3)),
        "{args:?}: {:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

#[test]
fn last_look_is_what_analyze_answers() {
    for config in EXAMPLES {
        let analyzed = json_of(&["analyze", config, "--json"]);
        let report = json_of(&["report", config, "--json", "--every", "5m"]);
        assert_eq!(report["verdict"], analyzed["verdict"], "{config}");
        assert_eq!(report["score"], analyzed["score"], "{config}");
        assert_eq!(report["reason"], analyzed["reason"], "{config}");
        let metrics = report["metrics"].as_array().unwrap();
        let expected = analyzed["metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), expected.len(), "{config}");
        for (m, a) in metrics.iter().zip(expected) {
            assert_eq!(m["name"], a["name"]);
            assert_eq!(
                m["verdict"], a["decision"]["verdict"],
                "{config} {}",
                m["name"]
            );
            assert_eq!(
                m["reason"], a["decision"]["reason"],
                "{config} {}",
                m["name"]
            );
            let last = m["looks"].as_array().unwrap().last().unwrap();
            assert_eq!(last["verdict"], a["decision"]["verdict"]);
            assert_eq!(
                last["effect"], a["decision"]["effect"],
                "{config} {}",
                m["name"]
            );
            assert_eq!(
                last["ci_low"], a["decision"]["ci_low"],
                "{config} {}",
                m["name"]
            );
            assert_eq!(
                last["ci_high"], a["decision"]["ci_high"],
                "{config} {}",
                m["name"]
            );
        }
        // Looks every 5 intervals of 1 minute, and always the last interval.
        let looks = report["looks"].as_array().unwrap();
        let total = report["window"]["intervals"].as_u64().unwrap();
        assert_eq!(looks.last().unwrap()["intervals"].as_u64(), Some(total));
        assert_eq!(looks[0]["intervals"].as_u64(), Some(5.min(total)));
    }
}

/// The sticky anytime-valid methods report, from one call on the whole series, the first
/// interval at which they would have failed; replaying one interval per look must fail
/// exactly there (and never before).
#[test]
fn replay_fails_where_the_one_call_says() {
    let mut checked = 0;
    for config in EXAMPLES {
        let analyzed = json_of(&["analyze", config, "--json"]);
        let replay = json_of(&["replay", config, "--json", "--every", "1m", "--step", "1m"]);
        for (m, a) in replay["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .zip(analyzed["metrics"].as_array().unwrap())
        {
            let Some(first) = a["decision"]["extra"]["first_fail_look"].as_f64() else {
                continue;
            };
            let method = a["method"].as_str().unwrap();
            if !["count-sequential", "msprt", "quantile-sequential"].contains(&method) {
                continue;
            }
            assert_eq!(
                m["first_fail_look"].as_f64(),
                Some(first),
                "{config} {}: replay's first failing look vs the method's own first_fail_look",
                m["name"]
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "only {checked} sequential fails were cross-checked"
    );
}

#[test]
fn replay_table_lists_every_look_and_the_first_decisions() {
    let o = run(&[
        "replay",
        "examples/checkout-regression.yaml",
        "--every",
        "10m",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("look  time"), "{text}");
    assert!(text.contains("first fail"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("http-errors ")),
        "{text}"
    );
    // Not a terminal: no progress bar on stderr.
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn chromium() -> String {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return name.to_string();
        }
    }
    panic!(
        "no chromium found: the report's browser test needs Debian's `chromium` \
         (scripts/test installs it in stage_deps; locally: apt-get install chromium)"
    );
}

fn browser(chromium: &str, args: &[&str], page: &Path) -> Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.path().display()),
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// The value of attribute `name` in the first tag of `html`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

fn close(shown: f64, want: f64) -> bool {
    (shown - want).abs() <= 1e-4 * want.abs().max(1e-300)
}

#[test]
fn browser_renders_every_metric_with_the_json_numbers() {
    let chromium = chromium();
    let dir = tempfile::tempdir().unwrap();
    let shots = std::env::var_os("CANARY_JUDGE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().to_path_buf());
    std::fs::create_dir_all(&shots).unwrap();
    for config in [
        "examples/checkout-regression.yaml",
        "examples/checkout.yaml",
    ] {
        let page = dir.path().join("report.html");
        let page_arg = page.display().to_string();
        let report = json_of(&["report", config, "--json", "-o", &page_arg]);
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(!html.contains("<script"), "the page must not need scripts");
        assert!(!html.contains(" src=\""), "the page must not load anything");

        let stem = Path::new(config)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for width in [1280u32, 390] {
            let shot = shots.join(format!("{stem}-{width}.png"));
            let o = browser(
                &chromium,
                &[
                    &format!("--screenshot={}", shot.display()),
                    &format!("--window-size={width},2400"),
                ],
                &page,
            );
            let png = std::fs::read(&shot).unwrap_or_else(|e| {
                panic!(
                    "no screenshot ({e}): {}",
                    String::from_utf8_lossy(&o.stderr)
                )
            });
            assert_eq!(png_size(&png).0, width, "screenshot width");
            assert!(
                png.len() > 20_000,
                "screenshot of {width} px is nearly empty"
            );
        }

        let o = browser(&chromium, &["--dump-dom"], &page);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let dom = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(dom.contains(&format!(
            "id=\"summary\" data-verdict=\"{}\"",
            report["verdict"].as_str().unwrap()
        )));
        for m in report["metrics"].as_array().unwrap() {
            let name = m["name"].as_str().unwrap();
            let start = dom
                .find(&format!("<section class=\"metric\" id=\"metric-{name}\""))
                .unwrap_or_else(|| panic!("{config}: no section for {name}"));
            let section = &dom[start..start + dom[start..].find("</section>").unwrap()];
            let tag = &section[..section.find('>').unwrap()];
            assert_eq!(attr(tag, "data-verdict"), m["verdict"].as_str(), "{name}");
            for kind in ["series", "band"] {
                let f = section
                    .find(&format!("<figure class=\"plot {kind}\""))
                    .unwrap_or_else(|| panic!("{name}: no {kind} plot"));
                let fig = &section[f..f + section[f..].find("</figure>").unwrap()];
                assert!(fig.contains("<svg"), "{name}: {kind} plot has no svg");
                assert!(fig.contains("<polyline"), "{name}: {kind} plot has no line");
            }
            let has_interval = m["looks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["ci_low"].is_number() && l["ci_high"].is_number());
            let band_at = section.find("<figure class=\"plot band\"").unwrap();
            let band = &section[band_at..band_at + section[band_at..].find("</figure>").unwrap()];
            assert_eq!(
                band.contains("<polygon"),
                has_interval,
                "{name}: the band is drawn exactly when there are intervals"
            );
            // Every look's row shows the JSON's numbers.
            let looks = m["looks"].as_array().unwrap();
            let rows: Vec<&str> = section.split("<tr class=\"look\"").skip(1).collect();
            assert_eq!(rows.len(), looks.len(), "{name}: one row per look");
            for (row, look) in rows.iter().zip(looks) {
                assert_eq!(
                    attr(row, "data-verdict"),
                    look["verdict"].as_str(),
                    "{name} look {}",
                    look["look"]
                );
                for (class, key) in [
                    ("effect", "effect"),
                    ("ci-low", "ci_low"),
                    ("ci-high", "ci_high"),
                ] {
                    let cell_at = row
                        .find(&format!("class=\"num {class}\""))
                        .unwrap_or_else(|| panic!("{name}: no {class} cell"));
                    let cell = &row[cell_at..];
                    let text_start = cell.find('>').unwrap() + 1;
                    let text =
                        &cell[text_start..text_start + cell[text_start..].find('<').unwrap()];
                    match look[key].as_f64() {
                        Some(want) => {
                            let exact: f64 = attr(&format!(" {cell}"), "data-value")
                                .unwrap()
                                .parse()
                                .unwrap();
                            assert_eq!(exact, want, "{name} {key} data-value");
                            let shown: f64 = text.parse().unwrap_or_else(|_| {
                                panic!("{name} {key}: shown {text:?} is not a number")
                            });
                            assert!(
                                close(shown, want),
                                "{name} {key}: shown {shown}, JSON {want}"
                            );
                        }
                        None => assert_eq!(text, "–", "{name} {key}"),
                    }
                }
            }
        }
    }
}
