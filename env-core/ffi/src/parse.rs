//! Reading the model's answer (SPEC section 3): the last `ACTION=X` wins, tolerant of case,
//! spaces, quotes, brackets and markdown; and the knowing-doing probe's `<ucb_values>` block.

use core::ffi::c_char;

use env_core::parse::{parse_action, parse_action_arm, parse_ucb_values, Titles};
use env_core::{LabelSet, LabelStyle, MAX_ARMS};

use crate::cb::EcCb;
use crate::mab::EcMab;
use crate::object;
use crate::status::{to_status, EcStatus};
use crate::text::{out, slice_out, text_arg};
use crate::ttt::EcTtt;

/// The arm named by the answer `text` (`len` bytes of UTF-8) among the bandit's labels.
/// `EC_STATUS_NO_VALID_ACTION` when there is no `ACTION=X` with a valid label.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `text` to `len` bytes, `arm` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_parse_action(
    mab: *const EcMab,
    text: *const c_char,
    len: usize,
    arm: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (m, text, arm) = unsafe { (object::get(mab)?, text_arg(text, len)?, out(arm)?) };
        *arm = parse_action_arm(text, m.labels())?;
        Ok(())
    })())
}

/// The cell named by the answer, which must be a legal move of the game
/// (`EC_STATUS_ILLEGAL_MOVE` for a taken cell, `EC_STATUS_NO_VALID_ACTION` for no cell).
///
/// # Safety
/// `ttt` must be null or point to an `EcTtt`, `text` to `len` bytes, `position` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_ttt_parse_action(
    ttt: *const EcTtt,
    text: *const c_char,
    len: usize,
    position: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (t, text, position) = unsafe { (object::get(ttt)?, text_arg(text, len)?, out(position)?) };
        let cells = LabelSet::new(LabelStyle::Numeric, 9, 0)?;
        let cell = parse_action_arm(text, &cells)?;
        let legal = u8::try_from(cell).map(|c| t.legal_actions().contains(&c)).unwrap_or(false);
        if !legal {
            return Err(EcStatus::IllegalMove);
        }
        *position = cell;
        Ok(())
    })())
}

/// The movie named by the answer: by title first (titles may start with a number), else by
/// index.
///
/// # Safety
/// `cb` must be null or point to an `EcCb`, `text` to `len` bytes, `arm` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_parse_action(
    cb: *const EcCb,
    text: *const c_char,
    len: usize,
    arm: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (c, text, arm) = unsafe { (object::get(cb)?, text_arg(text, len)?, out(arm)?) };
        let (titles, k) = c.titles();
        let titles = titles.get(..k).ok_or(EcStatus::OutOfRange)?;
        let indices = c.env().labels()?;
        *arm = parse_action(text, &Titles(titles))
            .arm()
            .or_else(|| parse_action(text, &indices).arm())
            .ok_or(EcStatus::NoValidAction)?;
        Ok(())
    })())
}

/// The values of the knowing-doing probe's `<ucb_values>` block, by arm, into
/// `values[0..arms]` (NaN for an arm not given); bit a of `*given_mask` is set when arm a's
/// value was given. `EC_STATUS_NO_VALID_ACTION` when the text has no such block.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `text` to `len` bytes, `values` to `cap`
/// doubles, `given_mask` to a `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_parse_ucb_values(
    mab: *const EcMab,
    text: *const c_char,
    len: usize,
    values: *mut f64,
    cap: usize,
    given_mask: *mut u32,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (m, text, mask) = unsafe { (object::get(mab)?, text_arg(text, len)?, out(given_mask)?) };
        let k = m.labels().len();
        // SAFETY: the caller's contract.
        let dst = unsafe { slice_out(values, cap)? };
        let dst = dst.get_mut(..k.min(MAX_ARMS)).filter(|d| d.len() == k).ok_or(EcStatus::BufferTooSmall)?;
        let parsed = parse_ucb_values(text, m.labels()).ok_or(EcStatus::NoValidAction)?;
        for (a, v) in dst.iter_mut().enumerate() {
            *v = parsed.get(a).unwrap_or(f64::NAN);
        }
        *mask = parsed.given_mask();
        Ok(())
    })())
}
