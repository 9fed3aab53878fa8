//! The terminal tables of `greedy diagnose`: frequency bias per repetition count, and the
//! knowing-doing confusion matrix.

use gpu_trainer::diagnose::frequency::FrequencyReport;
use gpu_trainer::diagnose::knowing::KnowingReport;

use crate::report::table::render;

pub fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), pct)
}

/// The terminal table of the frequency-bias study.
pub fn frequency_table(r: &FrequencyReport) -> String {
    let header = ["repeats", "contexts", "F_f", "F_g", "F_o", "mass f/g/o", "entropy (95% CI)", "p(target)"];
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            vec![
                row.repeats.to_string(),
                row.contexts.to_string(),
                pct(row.chosen.frequent),
                pct(row.chosen.greedy),
                pct(row.chosen.other),
                format!("{:.2}/{:.2}/{:.2}", row.mass.frequent, row.mass.greedy, row.mass.other),
                format!("{:.3} ± {:.3}", row.mean_entropy, row.entropy_ci95),
                format!("{:.3}", row.mean_target_prob),
            ]
        })
        .collect();
    let mut out = render(&header, &rows);
    let corr = r.entropy_repeat_correlation.map_or_else(|| "undefined".into(), |v| format!("{v:.3}"));
    out.push_str(&format!(
        "\nall prompts: F_f {}, F_g {}, F_o {}; Pearson r(entropy, repeats) = {corr} over {} prompts\n",
        pct(r.chosen_all.frequent),
        pct(r.chosen_all.greedy),
        pct(r.chosen_all.other),
        r.details.len()
    ));
    let list = |v: &[f64]| v.iter().map(|&x| pct(x)).collect::<Vec<_>>().join(" ");
    out.push_str(&format!(
        "by position in the label list (1st, 2nd, ...): mean probability {}; chosen {} (no position bias: {} each)\n",
        list(&r.by_position.mean_prob),
        list(&r.by_position.chosen),
        pct(1.0 / r.by_position.mean_prob.len().max(1) as f64)
    ));
    out
}

/// The terminal table of the knowing-doing study.
pub fn knowing_table(r: &KnowingReport) -> String {
    let total: u64 = r.matrix.iter().flatten().sum();
    let cell = |n: u64| {
        if total == 0 { n.to_string() } else { format!("{n} ({:.1}%)", 100.0 * n as f64 / total as f64) }
    };
    let rows: Vec<Vec<String>> = [("rationale correct", 0), ("rationale incorrect", 1)]
        .iter()
        .map(|&(name, i)| {
            let mut row = vec![name.to_string()];
            row.extend(r.matrix[i].iter().map(|&n| cell(n)));
            row
        })
        .collect();
    let mut out = render(&["", "optimal", "greedy", "other"], &rows);
    out.push_str(&format!(
        "\n{} answers: {} in the matrix, {} without a valid action, {} without UCB values\n\
         correct rationales: {}; among them greedy actions {}, optimal {}\n",
        r.answers,
        total,
        r.invalid_actions,
        r.missing_values,
        opt_pct(r.correct_share),
        opt_pct(r.greedy_given_correct),
        opt_pct(r.optimal_given_correct),
    ));
    out
}
