//! `ec_mab_*`: the multi-armed bandit (Gaussian or Bernoulli arms, button or numeric labels).

use core::ffi::c_char;

use env_core::{ArmDistribution, Environment, LabelStyle, MabConfig, MultiArmedBandit};

use crate::object::{self, Storage};
use crate::status::{to_status, EcStatus};
use crate::text::{out, slice_out, text_arg, write_text};

/// 8-byte words of an [`EcMab`].
pub const EC_MAB_WORDS: usize = 144;

/// Bytes of an [`EcMab`] (`sizeof`).
pub const EC_MAB_SIZE: usize = EC_MAB_WORDS * 8;

/// A multi-armed bandit, in caller storage: `EcMab m; ec_mab_init(&m, &config, seed);`.
#[repr(C)]
pub struct EcMab {
    /// Opaque: written and read by the library only.
    pub opaque: [u64; EC_MAB_WORDS],
}

impl Storage for EcMab {
    type Inner = MultiArmedBandit;
    const TAG: u64 = 0x4543_5F4D_4142_0001;
}

/// Gaussian arms: reward ~ N(mu, sigma), mu ~ U(0, 1); `param` is sigma (0..=1e6).
pub const EC_DIST_GAUSSIAN: u32 = 0;
/// Bernoulli arms: one best arm at 0.5 + gap/2, the others at 0.5 - gap/2; `param` is the gap
/// (0..=1).
pub const EC_DIST_BERNOULLI: u32 = 1;
/// Colour names shuffled by the scenario seed ("blue", "green", ...).
pub const EC_LABELS_BUTTONS: u32 = 0;
/// The arm indices "0" .. "k-1".
pub const EC_LABELS_NUMERIC: u32 = 1;

/// The settings of a bandit (SPEC section 2). The paper's main setting is
/// `{10, 50, EC_DIST_GAUSSIAN, 1.0, EC_LABELS_BUTTONS}`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EcMabConfig {
    /// Number of arms, 2..=32.
    pub arms: u32,
    /// Steps per episode, 1..=1000000.
    pub horizon: u32,
    /// `EC_DIST_GAUSSIAN` or `EC_DIST_BERNOULLI`.
    pub distribution: u32,
    /// Sigma (Gaussian) or gap (Bernoulli).
    pub param: f64,
    /// `EC_LABELS_BUTTONS` or `EC_LABELS_NUMERIC`.
    pub labels: u32,
}

/// What one step returns.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EcMabStep {
    /// The sampled reward.
    pub reward: f64,
    /// The pulled arm's mean.
    pub expected_reward: f64,
    /// The best arm's mean.
    pub best_expected_reward: f64,
    /// `best_expected_reward - expected_reward`.
    pub regret: f64,
    /// Steps taken so far in the episode (after this one).
    pub steps: u32,
    /// 1 when this step reached the horizon.
    pub truncated: u8,
}

impl EcMabConfig {
    /// The env-core settings, checked for the enum fields (env-core checks the ranges).
    pub fn to_rust(&self) -> Result<MabConfig, EcStatus> {
        let distribution = match self.distribution {
            EC_DIST_GAUSSIAN => ArmDistribution::Gaussian { sigma: self.param },
            EC_DIST_BERNOULLI => ArmDistribution::Bernoulli { gap: self.param },
            _ => return Err(EcStatus::OutOfRange),
        };
        let labels = match self.labels {
            EC_LABELS_BUTTONS => LabelStyle::Buttons,
            EC_LABELS_NUMERIC => LabelStyle::Numeric,
            _ => return Err(EcStatus::OutOfRange),
        };
        let config =
            MabConfig { arms: self.arms as usize, horizon: self.horizon as usize, distribution, labels };
        config.validate()?;
        Ok(config)
    }
}

/// Initialises `mab` as the bandit of `config` drawn by `scenario_seed` (arm means and labels),
/// reset with episode seed 0. On error `mab` is left as it was.
///
/// # Safety
/// `mab` must point to `EC_MAB_SIZE` writable bytes, `config` to an `EcMabConfig` (or be null).
#[no_mangle]
pub unsafe extern "C" fn ec_mab_init(
    mab: *mut EcMab,
    config: *const EcMabConfig,
    scenario_seed: u64,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let config = unsafe { crate::text::arg(config)? }.to_rust()?;
        let value = MultiArmedBandit::new(config, scenario_seed)?;
        // SAFETY: the caller's contract.
        unsafe { object::init(mab, value) }
    })())
}

/// Starts a new episode; `seed` fixes the reward noise.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_reset(mab: *mut EcMab, seed: u64) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let m = unsafe { object::get_mut(mab)? };
        m.reset(seed)?;
        Ok(())
    })())
}

/// Pulls `arm` (0-based) and fills `*result`. `EC_STATUS_INVALID_ACTION` for an arm out of
/// range, `EC_STATUS_EPISODE_OVER` after the horizon; then nothing changes.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `result` to an `EcMabStep`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_step(mab: *mut EcMab, arm: usize, result: *mut EcMabStep) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract (distinct objects).
        let (m, result) = unsafe { (object::get_mut(mab)?, out(result)?) };
        let tr = m.step(arm)?;
        *result = EcMabStep {
            reward: tr.reward,
            expected_reward: tr.info.expected_reward,
            best_expected_reward: tr.info.best_expected_reward,
            regret: tr.info.regret,
            steps: u32::try_from(m.steps_taken()).unwrap_or(u32::MAX),
            truncated: u8::from(tr.truncated),
        };
        Ok(())
    })())
}

/// Reads one number about the bandit into `*value`.
unsafe fn read<T>(mab: *const EcMab, value: *mut T, f: impl FnOnce(&MultiArmedBandit) -> T) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (m, value) = unsafe { (object::get(mab)?, out(value)?) };
        *value = f(m);
        Ok(())
    })())
}

/// The number of arms.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `arms` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_num_arms(mab: *const EcMab, arms: *mut usize) -> EcStatus {
    // SAFETY: forwarded.
    unsafe { read(mab, arms, |m| m.num_actions()) }
}

/// The arm with the highest mean (the lowest index among equals).
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `arm` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_best_arm(mab: *const EcMab, arm: *mut usize) -> EcStatus {
    // SAFETY: forwarded.
    unsafe { read(mab, arm, |m| m.best_arm()) }
}

/// Steps taken in the current episode.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `steps` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_steps_taken(mab: *const EcMab, steps: *mut usize) -> EcStatus {
    // SAFETY: forwarded.
    unsafe { read(mab, steps, |m| m.steps_taken()) }
}

/// 1 when the episode reached its horizon, else 0.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `done` to a byte.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_is_done(mab: *const EcMab, done: *mut u8) -> EcStatus {
    // SAFETY: forwarded.
    unsafe { read(mab, done, |m| u8::from(m.is_done())) }
}

/// Copies the arm means into `means[0..arms]` (`cap` must be at least the number of arms).
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `means` to `cap` doubles.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_means(mab: *const EcMab, means: *mut f64, cap: usize) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (m, dst) = unsafe { (object::get(mab)?, slice_out(means, cap)?) };
        let src = m.means();
        dst.get_mut(..src.len()).ok_or(EcStatus::BufferTooSmall)?.copy_from_slice(src);
        Ok(())
    })())
}

/// Writes the label of `arm` ("green", "7") into `buf`, NUL-terminated; `*len` gets its length.
/// `EC_STATUS_BUFFER_TOO_SMALL` (with `*len` set) when `cap <= len`.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `buf` to `cap` bytes, `len` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_label(
    mab: *const EcMab,
    arm: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let m = unsafe { object::get(mab)? };
        let label = m.labels().get(arm)?;
        // SAFETY: the caller's contract.
        unsafe { write_text(buf, cap, len, |w| Ok(write!(w, "{label}")?)) }
    })())
}

/// The arm whose label is `text` (`len` bytes, case-insensitive; numeric labels accept leading
/// zeros). `EC_STATUS_UNKNOWN_LABEL` when no label matches.
///
/// # Safety
/// `mab` must be null or point to an `EcMab`, `text` to `len` bytes, `arm` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_mab_find_label(
    mab: *const EcMab,
    text: *const c_char,
    len: usize,
    arm: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (m, text, arm) = unsafe { (object::get(mab)?, text_arg(text, len)?, out(arm)?) };
        *arm = m.labels().find(text)?;
        Ok(())
    })())
}
