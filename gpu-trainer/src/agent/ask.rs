//! Asking the model for one step of every running episode, with the inference-time mechanisms
//! of SPEC section 6 that change how an answer is obtained:
//!
//! - self-consistency (`samples` K > 1): every prompt is answered K times (K sequences per
//!   prompt in the same batch), each answer is parsed, and the majority action wins; ties are
//!   broken uniformly at random from a stream seeded by (run seed, step, episode);
//! - self-correction: each answer is appended to its prompt with a request to check it, the
//!   model answers again, and the second answer is the one that counts.
//!
//! Every episode of a step (x K samples) goes into ONE generation call (one more with
//! self-correction). Generation is behind [`Policy`] so the flow is testable without a GPU.

use anyhow::{Context, Result, bail};
use env_core::Rng;
use env_core::prompt::ChatFormat;
use env_core::rng::derive_seed;

use super::AgentSettings;
use super::policy::{Completion, Policy, Prefixed, SampleOptions};

/// The request appended to an answer under self-correction.
pub const CORRECTION_REQUEST: &str = "Check your answer above: is the action you chose the best \
    choice given the task and the history? If it is not, correct it. End your answer with ACTION=X, \
    where X is one of the valid actions.";

/// What closes the model's turn in Gemma's chat format.
const GEMMA_TURN_END: &str = "<end_of_turn>\n";

/// The self-correction prompt: the original prompt, the model's answer, then the request in a
/// new user turn (chat format) or after a blank line (plain text), ready for the next answer.
pub fn correction_prompt(prompt: &str, answer: &str, chat: ChatFormat<'_>) -> String {
    let answer = answer.trim_end();
    if chat.prefix.is_empty() && chat.suffix.is_empty() {
        format!("{prompt}{answer}\n\n{CORRECTION_REQUEST}\n")
    } else {
        format!("{prompt}{answer}{GEMMA_TURN_END}{}{CORRECTION_REQUEST}{}", chat.prefix, chat.suffix)
    }
}

/// The majority action among `actions` (None = an invalid answer, not counted); ties go to a
/// uniformly random one of the tied actions drawn from `rng` (no draw without a tie). None when
/// no answer was valid.
pub fn majority_vote(actions: &[Option<usize>], rng: &mut Rng) -> Option<usize> {
    let mut counts: Vec<(usize, usize)> = Vec::new(); // (action, votes), in ascending action order
    for &a in actions.iter().flatten() {
        match counts.binary_search_by_key(&a, |&(x, _)| x) {
            Ok(i) => counts[i].1 += 1,
            Err(i) => counts.insert(i, (a, 1)),
        }
    }
    let top = counts.iter().map(|&(_, n)| n).max()?;
    let tied: Vec<usize> = counts.iter().filter(|&&(_, n)| n == top).map(|&(a, _)| a).collect();
    Some(if tied.len() == 1 { tied[0] } else { tied[rng.below(tied.len())] })
}

/// One prompt's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The voted action (None: no valid answer).
    pub action: Option<usize>,
    /// The final answer of the first sample that named the voted action (sample 0 if none did).
    pub answer: String,
    /// That answer's completion (its prompt and token ids: the correction prompt under
    /// self-correction, whose answer is the one that counts).
    pub completion: Completion,
    /// The prompt text that completion answers.
    pub prompt: String,
    /// Self-correction: that sample's first answer, before the check.
    pub first_answer: Option<String>,
    /// The action of every sample's final answer (K entries).
    pub sample_actions: Vec<Option<usize>>,
    /// Self-correction: samples whose action the check changed.
    pub changed_by_correction: usize,
}

/// Stream ids of the sub-seeds of one step ("CORRECT", "VOTE").
const CORRECT_STREAM: u64 = 0x0043_4F52_5245_4354;
const VOTE_STREAM: u64 = 0x564F_5445;

/// Answers `texts` (prompt i of episode `episodes[i]`) for step `t` of a run seeded `seed`:
/// `llm.samples` samples per prompt in one generation call (seed `derive_seed(seed, t)`, sample j
/// of episode e on stream `e * K + j`: an episode's answers do not depend on the other episodes
/// of the batch), then with `llm.self_correct` one more call on the correction prompts; `parse(i,
/// answer)` reads the action of an answer to prompt i; the majority vote decides.
pub fn ask(
    model: &mut dyn Policy,
    texts: &[String],
    episodes: &[u64],
    llm: &AgentSettings,
    seed: u64,
    t: usize,
    parse: &dyn Fn(usize, &str) -> Option<usize>,
) -> Result<Vec<Decision>> {
    if texts.len() != episodes.len() {
        bail!("{} prompts but {} episode indices", texts.len(), episodes.len());
    }
    let mut prefixed = Prefixed { inner: model, prefix: &llm.answer_prefix };
    let model: &mut dyn Policy = if llm.answer_prefix.is_empty() { prefixed.inner } else { &mut prefixed };
    let k = llm.samples.max(1);
    let mut all = Vec::with_capacity(texts.len() * k);
    let mut streams = Vec::with_capacity(texts.len() * k);
    for (text, &e) in texts.iter().zip(episodes) {
        for j in 0..k {
            all.push(text.clone());
            streams.push(e * k as u64 + j as u64);
        }
    }
    let step_seed = derive_seed(seed, t as u64);
    let opts = SampleOptions {
        max_new_tokens: llm.max_new_tokens,
        temperature: llm.temperature,
        seed: step_seed,
        entropy: llm.entropy,
    };
    let first = model.complete(&all, &streams, &opts).with_context(|| format!("generating step {t}"))?;
    check_count(&first, all.len())?;
    let (finals, firsts, final_prompts) = if llm.self_correct {
        let again: Vec<String> =
            all.iter().zip(&first).map(|(p, a)| correction_prompt(p, &a.text, llm.chat())).collect();
        let opts = SampleOptions { seed: derive_seed(step_seed, CORRECT_STREAM), ..opts };
        let second =
            model.complete(&again, &streams, &opts).with_context(|| format!("self-correction, step {t}"))?;
        check_count(&second, all.len())?;
        let firsts: Vec<String> = first.into_iter().map(|c| c.text).collect();
        (second, Some(firsts), again)
    } else {
        (first, None, all)
    };
    let mut out = Vec::with_capacity(texts.len());
    for (i, &e) in episodes.iter().enumerate() {
        let range = i * k..(i + 1) * k;
        let sample_actions: Vec<Option<usize>> =
            finals[range.clone()].iter().map(|a| parse(i, &a.text)).collect();
        let changed_by_correction = match &firsts {
            Some(f) => {
                f[range.clone()].iter().zip(&sample_actions).filter(|(a, b)| parse(i, a) != **b).count()
            }
            None => 0,
        };
        let mut rng = Rng::from_stream(derive_seed(step_seed, VOTE_STREAM), e);
        let action = majority_vote(&sample_actions, &mut rng);
        let pick = sample_actions.iter().position(|&a| a.is_some() && a == action).unwrap_or(0);
        out.push(Decision {
            action,
            answer: finals[i * k + pick].text.clone(),
            completion: finals[i * k + pick].clone(),
            prompt: final_prompts[i * k + pick].clone(),
            first_answer: firsts.as_ref().map(|f| f[i * k + pick].clone()),
            sample_actions,
            changed_by_correction,
        });
    }
    Ok(out)
}

fn check_count(answers: &[Completion], want: usize) -> Result<()> {
    if answers.len() != want {
        bail!("the generator returned {} answers for {want} prompts", answers.len());
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::generate::WeightDType;

    #[test]
    fn majority_and_seeded_ties() {
        let mut rng = Rng::new(1);
        assert_eq!(majority_vote(&[Some(2), Some(1), Some(2), None], &mut rng), Some(2));
        assert_eq!(majority_vote(&[None, None], &mut rng), None);
        assert_eq!(majority_vote(&[], &mut rng), None);
        assert_eq!(majority_vote(&[None, Some(4)], &mut rng), Some(4), "invalid answers do not vote");
        // a tie: the same stream gives the same winner; the winner is one of the tied actions,
        // drawn as tied[rng.below(2)] over the tied actions in ascending order
        let tie = [Some(3), Some(1), Some(3), Some(1), Some(0)];
        let pick = |seed: u64| majority_vote(&tie, &mut Rng::from_stream(seed, 9));
        let want = |seed: u64| [1, 3][Rng::from_stream(seed, 9).below(2)];
        for seed in 0..20 {
            assert_eq!(pick(seed), Some(want(seed)), "seed {seed}");
        }
        let winners: std::collections::BTreeSet<usize> = (0..20).filter_map(pick).collect();
        assert_eq!(winners.into_iter().collect::<Vec<_>>(), vec![1, 3], "both tied actions can win");
        // no tie, no draw: the stream is untouched
        let mut a = Rng::new(5);
        majority_vote(&[Some(1), Some(1), Some(2)], &mut a);
        assert_eq!(a.uniform(), Rng::new(5).uniform());
    }

    #[test]
    fn correction_prompt_in_both_formats() {
        let chat = correction_prompt(
            "<start_of_turn>user\nQ<end_of_turn>\n<start_of_turn>model\n",
            "ACTION=red\n",
            ChatFormat::GEMMA,
        );
        assert_eq!(
            chat,
            format!(
                "<start_of_turn>user\nQ<end_of_turn>\n<start_of_turn>model\nACTION=red<end_of_turn>\n\
                 <start_of_turn>user\n{CORRECTION_REQUEST}<end_of_turn>\n<start_of_turn>model\n"
            )
        );
        let plain = correction_prompt("Q\n", "ACTION=red", ChatFormat::PLAIN);
        assert_eq!(plain, format!("Q\nACTION=red\n\n{CORRECTION_REQUEST}\n"));
    }

    /// Answers from a script: `answer(text, stream, seed)`; records every call.
    struct Scripted<F: FnMut(&str, u64, u64) -> String> {
        answer: F,
        calls: Vec<(Vec<String>, Vec<u64>, SampleOptions)>,
    }

    impl<F: FnMut(&str, u64, u64) -> String> Policy for Scripted<F> {
        fn complete(
            &mut self,
            texts: &[String],
            streams: &[u64],
            opts: &SampleOptions,
        ) -> Result<Vec<Completion>> {
            self.calls.push((texts.to_vec(), streams.to_vec(), *opts));
            Ok(texts
                .iter()
                .zip(streams)
                .map(|(t, &s)| Completion::text((self.answer)(t, s, opts.seed)))
                .collect())
        }
    }

    pub(crate) fn settings(samples: usize, self_correct: bool) -> AgentSettings {
        AgentSettings {
            model: "unused".into(),
            dtype: WeightDType::Auto,
            max_new_tokens: 7,
            temperature: 1.0,
            cot: true,
            summary: false,
            randomize: false,
            base: false,
            answer_chars: None,
            answer_prefix: String::new(),
            legal_moves: true,
            samples,
            self_correct,
            entropy: false,
        }
    }

    /// parses the digit after the last `ACTION=`
    fn digit(_: usize, a: &str) -> Option<usize> {
        let (_, rest) = a.rsplit_once("ACTION=")?;
        rest.chars().next()?.to_digit(10).map(|d| d as usize)
    }

    #[test]
    fn self_consistency_batches_all_samples_in_one_call_and_votes() {
        // episode 10 answers 2, 2, 5 (majority 2); episode 11 answers garbage twice, then 4
        let mut g = Scripted {
            answer: |text: &str, stream: u64, _| match (text, stream) {
                ("p10", 30) | ("p10", 31) => "ACTION=2".to_string(),
                ("p10", 32) => "ACTION=5".to_string(),
                ("p11", 35) => "I pick ACTION=4".to_string(),
                _ => "no idea".to_string(),
            },
            calls: Vec::new(),
        };
        let texts = vec!["p10".to_string(), "p11".to_string()];
        let d = ask(&mut g, &texts, &[10, 11], &settings(3, false), 77, 4, &digit).unwrap();
        assert_eq!(g.calls.len(), 1, "one generation call for 2 prompts x 3 samples");
        let (sent, streams, opts) = &g.calls[0];
        assert_eq!(sent, &["p10", "p10", "p10", "p11", "p11", "p11"]);
        assert_eq!(streams, &[30, 31, 32, 33, 34, 35], "sample j of episode e is stream e*K + j");
        assert_eq!(opts.seed, derive_seed(77, 4));
        assert_eq!((opts.max_new_tokens, opts.temperature), (7, 1.0));
        assert_eq!(d[0].action, Some(2));
        assert_eq!(d[0].sample_actions, vec![Some(2), Some(2), Some(5)]);
        assert_eq!(d[0].answer, "ACTION=2");
        assert_eq!(d[1].action, Some(4), "the only valid answer wins");
        assert_eq!(d[1].answer, "I pick ACTION=4", "the stored answer is one that named the winner");
        assert_eq!(d[1].first_answer, None);
    }

    #[test]
    fn self_correction_asks_again_and_the_second_answer_counts() {
        // first answers say 1; asked to check, episode 0 switches to 3 and episode 1 keeps 1
        let mut g = Scripted {
            answer: |text: &str, stream: u64, _| {
                if !text.contains(CORRECTION_REQUEST) {
                    "ACTION=1".to_string()
                } else if stream == 0 {
                    "On reflection ACTION=3".to_string()
                } else {
                    "ACTION=1 is right".to_string()
                }
            },
            calls: Vec::new(),
        };
        let texts = vec!["<start_of_turn>user\nA<end_of_turn>\n<start_of_turn>model\n".to_string(); 2];
        let d = ask(&mut g, &texts, &[0, 1], &settings(1, true), 5, 2, &digit).unwrap();
        assert_eq!(g.calls.len(), 2, "one call for the answers, one for the corrections");
        let (second, streams, opts) = &g.calls[1];
        assert_eq!(second[0], correction_prompt(&texts[0], "ACTION=1", ChatFormat::GEMMA));
        assert!(second[0].starts_with(&texts[0]) && second[0].contains("ACTION=1<end_of_turn>"));
        assert_eq!(streams, &[0, 1]);
        assert_ne!(opts.seed, g.calls[0].2.seed, "the correction samples from its own seed");
        assert_eq!(d[0].action, Some(3), "the corrected answer counts");
        assert_eq!(d[0].first_answer.as_deref(), Some("ACTION=1"));
        assert_eq!(d[0].answer, "On reflection ACTION=3");
        assert_eq!(d[0].changed_by_correction, 1);
        assert_eq!(d[1].action, Some(1));
        assert_eq!(d[1].changed_by_correction, 0);
    }

    #[test]
    fn an_answer_prefix_ends_every_prompt_and_starts_every_answer() {
        // the model continues "...\nACTION=" with a digit; the correction prompt shows the whole answer
        let mut g = Scripted {
            answer: |text: &str, _, _| {
                if text.contains(CORRECTION_REQUEST) { "4".into() } else { "2 ok".into() }
            },
            calls: Vec::new(),
        };
        let llm = AgentSettings { answer_prefix: "\nACTION=".into(), base: true, ..settings(1, true) };
        let texts = vec!["Q".to_string()];
        let d = ask(&mut g, &texts, &[0], &llm, 5, 0, &digit).unwrap();
        assert_eq!(g.calls[0].0, ["Q\nACTION="], "the prompt ends with the prefix");
        assert_eq!(d[0].first_answer.as_deref(), Some("\nACTION=2 ok"), "the answer starts with it");
        let want = format!("{}\nACTION=", correction_prompt("Q", "\nACTION=2 ok", ChatFormat::PLAIN));
        assert_eq!(g.calls[1].0, [want]);
        assert_eq!((d[0].action, d[0].answer.as_str()), (Some(4), "\nACTION=4"));
        // no prefix: prompts and answers untouched
        let d = ask(&mut g, &texts, &[0], &settings(1, false), 5, 0, &digit).unwrap();
        assert_eq!((g.calls[2].0[0].as_str(), d[0].answer.as_str()), ("Q", "2 ok"));
    }
}
