//! Chart rendering benchmark: `cargo bench -p assay --bench chart`.
//!
//! Renders the Cost dashboard's heaviest chart (30 days x 10 stacked series) and a 30-commit
//! trend line as SVG and PNG, 50 times each, and prints the median time of each.

use std::time::{Duration, Instant};

use assay::chart::{render_png, render_svg, ChartKind, ChartSpec, Series, Theme, ValueFormat};

fn stacked() -> ChartSpec {
    let days: Vec<String> = (1..=30).map(|d| format!("2026-10-{d:02}")).collect();
    let series = (0..10)
        .map(|s| Series {
            name: format!("tenant-{s}"),
            values: (0..30)
                .map(|d| Some(((s * 7 + d * 13) % 50) as f64 + 5.0))
                .collect(),
        })
        .collect();
    ChartSpec {
        title: "Cost per day by tenant".into(),
        kind: ChartKind::StackedBar,
        x_labels: days,
        x_is_date: true,
        series,
        y_label: "USD".into(),
        format: ValueFormat::Usd,
        theme: Theme::Light,
        width: 960,
        height: 360,
    }
}

fn trend() -> ChartSpec {
    ChartSpec {
        title: "Pass rate per commit".into(),
        kind: ChartKind::Line,
        x_labels: (0..30).map(|c| format!("{:07x}", c * 977_777)).collect(),
        x_is_date: false,
        series: vec![Series {
            name: "pass rate".into(),
            values: (0..30).map(|c| Some(0.6 + (c % 7) as f64 * 0.05)).collect(),
        }],
        y_label: String::new(),
        format: ValueFormat::Percent,
        theme: Theme::Dark,
        width: 900,
        height: 320,
    }
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let (s, t) = (stacked(), trend());
    println!("| chart | SVG | PNG |");
    println!("|---|---|---|");
    for (name, spec) in [
        ("30 days x 10 stacked series", &s),
        ("30-commit trend line", &t),
    ] {
        let svg = median(|| {
            render_svg(spec).expect("svg");
        });
        let png = median(|| {
            render_png(spec).expect("png");
        });
        println!(
            "| {name} | {:.2} ms | {:.2} ms |",
            svg.as_secs_f64() * 1e3,
            png.as_secs_f64() * 1e3
        );
    }
}
