//! What a context pack saves: for the five largest TICKETS.md files of the corpus, the bytes a
//! build and a review phase are pointed at (their pack: the batch's section, the verify command,
//! the role's rules) against the whole file an agent would otherwise read.
//!
//! `cargo run --release -p leapfrog-engine --example context_bench`

use leapfrog_engine::agents::prompts::PromptPhase;
use leapfrog_engine::context::{render, PackInput, DEFAULT_RULES};
use leapfrog_engine::tickets::Document;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tickets");
    let mut files: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter_map(|e| e.ok())
        .map(|e| (e.metadata().map(|m| m.len()).unwrap_or(0), e.path()))
        .filter(|(_, p)| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    println!("file\tbytes\tbatches\tbuild pack mean\treview pack mean\tmean ratio");
    let mut ratios = Vec::new();
    for (size, path) in files.into_iter().take(5) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
        let doc = Document::parse(&text);
        let numbers: Vec<u32> = doc.batches.iter().map(|b| b.number).collect();
        if numbers.is_empty() {
            println!(
                "{}\t{size}\t0\t-\t-\t-",
                path.file_name().unwrap().to_string_lossy()
            );
            continue;
        }
        let pack = |phase, n| {
            render(&PackInput {
                phase,
                batch: n,
                tickets_file: "TICKETS.md",
                doc: Some(&doc),
                handoff: None,
                verify_command: Some("make test"),
                notes: None,
                diff: None,
                rules: Some(DEFAULT_RULES),
            })
            .len() as f64
        };
        let mean =
            |phase| numbers.iter().map(|&n| pack(phase, n)).sum::<f64>() / numbers.len() as f64;
        let (build, review) = (mean(PromptPhase::Build), mean(PromptPhase::Review));
        let ratio = (build + review) / 2.0 / size as f64;
        ratios.push(ratio);
        println!(
            "{}\t{size}\t{}\t{build:.0}\t{review:.0}\t{:.1} %",
            path.file_name().unwrap().to_string_lossy(),
            numbers.len(),
            100.0 * ratio
        );
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
    println!(
        "mean: a build or review phase reads {:.1} % of the whole file",
        100.0 * mean
    );
}
