//! The contextual-bandit (MovieLens-style) prompt (SPEC sections 2-3): each step shows one user;
//! the actions are movies, named by their titles.
//!
//! Layout (sections separated by a blank line): instruction, the movie list (one `- title` line
//! each), output instruction, history (one line per step, each with that step's user, or the
//! empty-history sentence), the current user, the question. Parse answers with
//! [`crate::parse::Titles`].

use core::fmt::Write;

use super::chat::ChatFormat;
use super::format::{Dp2, write_joined};
use super::output::{OutputMode, OutputTemplates};
use super::template::{Vars, put, render};
use crate::cb::UserContext;
use crate::error::{Error, Result};

/// The texts of the contextual-bandit prompt. Placeholders: `{k}` and `{horizon}` in
/// `instruction`; `{title}` in `movie_line`; `{age}`, `{gender}`, `{occupation}`, `{location}`
/// and `{preferences}` (`[0.12, -0.30]`, 2 decimals) in `user`; `{step}` (0-based), `{user}`
/// (the rendered `user` text), `{action}` (the title) and `{reward}` (2 decimals) in
/// `history_line`; `{user}` in `current`; none in `empty_history` and `question`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CbTemplates<'a> {
    /// The task.
    pub instruction: &'a str,
    /// One line per movie.
    pub movie_line: &'a str,
    /// A user's description.
    pub user: &'a str,
    /// Written instead of the history before the first step.
    pub empty_history: &'a str,
    /// One history line.
    pub history_line: &'a str,
    /// The user of the current step.
    pub current: &'a str,
    /// The closing question.
    pub question: &'a str,
    /// The output instructions (`{labels}` = the titles, comma separated).
    pub output: OutputTemplates<'a>,
}

impl Default for CbTemplates<'static> {
    fn default() -> Self {
        CbTemplates {
            instruction: "You are a movie recommendation system. At each of {horizon} steps a \
                user arrives and you recommend exactly one of the {k} movies below; the reward \
                is how much the user likes it. Your goal is to maximize the total reward. The \
                movies are:",
            movie_line: "- {title}",
            user: "age {age}, {gender}, {occupation}, location {location}, preferences \
                {preferences}",
            empty_history: "No movie has been recommended yet.",
            history_line: "Step={step} User=({user}) Action={action} Reward={reward}",
            current: "Current user: {user}",
            question: "Which movie do you recommend to this user?",
            output: OutputTemplates::default(),
        }
    }
}

/// Everything about a contextual-bandit prompt except the history itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CbPromptSpec<'a> {
    /// The number of steps announced.
    pub horizon: usize,
    /// Chain-of-thought or action only.
    pub output: OutputMode,
    /// Chat turns or plain text.
    pub chat: ChatFormat<'a>,
    /// The texts.
    pub templates: CbTemplates<'a>,
}

impl Default for CbPromptSpec<'static> {
    /// Horizon 50, chain-of-thought, Gemma turns, default texts.
    fn default() -> Self {
        CbPromptSpec {
            horizon: 50,
            output: OutputMode::ChainOfThought,
            chat: ChatFormat::GEMMA,
            templates: CbTemplates::default(),
        }
    }
}

/// Writes one user's description with `template` (see [`CbTemplates::user`]).
pub fn write_user(w: &mut dyn Write, template: &str, user: &UserContext<'_>) -> Result<()> {
    let vars: &mut Vars<'_> = &mut |name, w| match name {
        "age" => put(w, format_args!("{}", user.age)),
        "gender" => put(w, format_args!("{}", user.gender)),
        "occupation" => put(w, format_args!("{}", user.occupation)),
        "location" => put(w, format_args!("{}", user.location)),
        "preferences" => Some(
            (|| {
                w.write_char('[')?;
                for (i, &p) in user.preferences.iter().enumerate() {
                    if i > 0 {
                        w.write_str(", ")?;
                    }
                    write!(w, "{}", Dp2(p))?;
                }
                w.write_char(']')
            })()
            .map_err(Error::from),
        ),
        _ => None,
    };
    render(w, template, vars)
}

/// Writes the whole contextual-bandit prompt: the history is `users[t]`, `actions[t]` (movie
/// indices into `titles`), `rewards[t]`; `current` is the user to serve now.
pub fn write_cb_prompt<W: Write>(
    w: &mut W,
    spec: &CbPromptSpec<'_>,
    titles: &[&str],
    users: &[UserContext<'_>],
    actions: &[usize],
    rewards: &[f64],
    current: &UserContext<'_>,
) -> Result<()> {
    let w: &mut dyn Write = w;
    if titles.is_empty() {
        return Err(Error::Empty { what: "titles" });
    }
    if actions.len() != users.len() {
        return Err(Error::ShapeMismatch { what: "actions", expected: users.len(), got: actions.len() });
    }
    super::mab::check_history(titles.len(), actions, rewards)?;
    let t = &spec.templates;
    let none: &mut Vars<'_> = &mut |_, _| None;
    spec.chat.wrap(w, |w| {
        let k = titles.len();
        render(w, t.instruction, &mut |name, w| match name {
            "k" => put(w, format_args!("{k}")),
            "horizon" => put(w, format_args!("{}", spec.horizon)),
            _ => None,
        })?;
        for title in titles {
            w.write_char('\n')?;
            render(w, t.movie_line, &mut |name, w| match name {
                "title" => put(w, format_args!("{title}")),
                _ => None,
            })?;
        }
        w.write_str("\n\n")?;
        t.output.write(w, spec.output, &mut |w| Ok(write_joined(w, titles, ", ")?))?;
        w.write_str("\n\n")?;
        if users.is_empty() {
            render(w, t.empty_history, none)?;
        }
        for (i, ((u, &a), &r)) in users.iter().zip(actions).zip(rewards).enumerate() {
            if i > 0 {
                w.write_char('\n')?;
            }
            let vars: &mut Vars<'_> = &mut |name, w| match name {
                "step" => put(w, format_args!("{i}")),
                "user" => Some(write_user(w, t.user, u)),
                "action" => put(w, format_args!("{}", titles[a])),
                "reward" => put(w, format_args!("{}", Dp2(r))),
                _ => None,
            };
            render(w, t.history_line, vars)?;
        }
        w.write_str("\n\n")?;
        render(w, t.current, &mut |name, w| match name {
            "user" => Some(write_user(w, t.user, current)),
            _ => None,
        })?;
        w.write_str("\n\n")?;
        render(w, t.question, none)
    })
}
