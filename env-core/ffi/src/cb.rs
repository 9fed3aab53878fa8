//! `ec_cb_*`: the MovieLens-style contextual bandit over a synthetic table (SPEC section 2).
//!
//! The object holds the table (up to `EC_CB_MAX_USERS` users and 32 movies, generated in place
//! by env-core's `fill_synthetic`) and the environment, which points into the table: that is
//! why objects are bound to their address (see [`crate::object`]).

use core::ffi::c_char;

use env_core::cb::{fill_synthetic, CbTables, ContextualBandit, MovieProfile, UserContext, UserProfile};
use env_core::{Environment, MAX_ARMS};

use crate::object::{self, Storage};
use crate::status::{to_status, EcStatus};
use crate::text::{arg, out, slice_out, text_arg, write_text};

/// Most users a table can hold.
pub const EC_CB_MAX_USERS: usize = 256;

/// 8-byte words of an [`EcCb`].
pub const EC_CB_WORDS: usize = 8192;

/// Bytes of an [`EcCb`] (`sizeof`).
pub const EC_CB_SIZE: usize = EC_CB_WORDS * 8;

/// A contextual bandit with its table, in caller storage (64 KiB: a static or the heap suit it
/// better than a small stack).
#[repr(C)]
pub struct EcCb {
    /// Opaque: written and read by the library only.
    pub opaque: [u64; EC_CB_WORDS],
}

/// The settings of the synthetic table and the episode length.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EcCbConfig {
    /// Users in the table, 1..=`EC_CB_MAX_USERS`.
    pub users: u32,
    /// Movies (arms), 1..=32.
    pub movies: u32,
    /// Rank of the reconstruction (context length), 1..=min(16, movies); 5 is usual.
    pub dim: u32,
    /// Reward noise sd (0.5 is usual).
    pub noise_sd: f64,
    /// Seed of the table.
    pub table_seed: u64,
    /// Steps per episode (50 in the paper).
    pub horizon: u32,
}

/// What one step returns.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EcCbStep {
    /// The sampled reward (a rating plus noise).
    pub reward: f64,
    /// The recommended movie's expected rating for the user.
    pub expected_reward: f64,
    /// The best movie for the user.
    pub best_arm: usize,
    /// Its expected rating.
    pub best_expected_reward: f64,
    /// `best_expected_reward - expected_reward`.
    pub regret: f64,
    /// The user this step was for.
    pub user: usize,
    /// The user shown next (unchanged when the episode ended).
    pub next_user: usize,
    /// 1 when this step reached the horizon.
    pub truncated: u8,
}

/// What the storage holds: the table, and the environment that borrows it.
pub struct Cb {
    users: [UserProfile; EC_CB_MAX_USERS],
    movies: [MovieProfile; MAX_ARMS],
    env: ContextualBandit<'static>,
}

impl Storage for EcCb {
    type Inner = Cb;
    const TAG: u64 = 0x4543_5F43_4200_0003;
}

impl Cb {
    /// The environment (borrowing from `self`).
    pub(crate) fn env(&self) -> &ContextualBandit<'_> {
        &self.env
    }

    /// The movie titles.
    pub(crate) fn titles(&self) -> ([&str; MAX_ARMS], usize) {
        let mut titles = [""; MAX_ARMS];
        let movies = self.env.tables().movies();
        for (t, m) in titles.iter_mut().zip(movies) {
            *t = m.title.as_str();
        }
        (titles, movies.len())
    }

    /// The prompt view of user `index`.
    pub(crate) fn user(&self, index: usize) -> Result<UserContext<'_>, EcStatus> {
        let tables = self.env.tables();
        let u = tables.users().get(index).ok_or(EcStatus::OutOfRange)?;
        Ok(UserContext {
            age: u.age,
            gender: u.gender.word(),
            occupation: u.occupation_name(),
            location: u.location.as_str(),
            preferences: u.preferences.get(..tables.dim()).ok_or(EcStatus::OutOfRange)?,
        })
    }
}

/// Initialises `cb`: generates the table of `config` in place and resets with episode seed 0.
/// Every setting is checked (on a one-user probe table) before the object is written, so a
/// failed init leaves the object as it was.
///
/// # Safety
/// `cb` must point to `EC_CB_SIZE` writable bytes, `config` to an `EcCbConfig`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_init(cb: *mut EcCb, config: *const EcCbConfig) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let c = *unsafe { arg(config)? };
        let (users, movies, dim) = (c.users as usize, c.movies as usize, c.dim as usize);
        if !(1..=EC_CB_MAX_USERS).contains(&users) || !(1..=MAX_ARMS).contains(&movies) {
            return Err(EcStatus::OutOfRange);
        }
        // Validate everything on a one-user table first, so that a failure writes nothing.
        let mut probe_users = [UserProfile::default()];
        let mut probe_movies: [MovieProfile; MAX_ARMS] = core::array::from_fn(|_| MovieProfile::default());
        let probe_movies = probe_movies.get_mut(..movies).ok_or(EcStatus::OutOfRange)?;
        fill_synthetic(&mut probe_users, probe_movies, dim, c.noise_sd, c.table_seed)?;
        env_core::error::check_count("horizon", c.horizon as usize, 1, 1_000_000)?;

        // SAFETY: the caller's contract. The table (tens of KiB) is written in place, element
        // by element, rather than built on the stack and moved.
        unsafe {
            let value = object::begin_init::<EcCb>(cb)?;
            let u = core::ptr::addr_of_mut!((*value).users);
            for i in 0..EC_CB_MAX_USERS {
                u.cast::<UserProfile>().add(i).write(UserProfile::default());
            }
            let m = core::ptr::addr_of_mut!((*value).movies);
            for i in 0..MAX_ARMS {
                m.cast::<MovieProfile>().add(i).write(MovieProfile::default());
            }
            // Both arrays are initialised now.
            let (u, m) = (&mut *u, &mut *m);
            let made = fill_synthetic(
                u.get_mut(..users).unwrap_or_default(),
                m.get_mut(..movies).unwrap_or_default(),
                dim,
                c.noise_sd,
                c.table_seed,
            )
            .and_then(|tables| {
                // The tables borrow this object's own storage, which stays at its address
                // while the object is in use (every call checks it) and is written again
                // only by a new init.
                let tables = core::mem::transmute::<CbTables<'_>, CbTables<'static>>(tables);
                ContextualBandit::new(tables, c.horizon as usize)
            });
            match made {
                Ok(env) => {
                    (core::ptr::addr_of_mut!((*value).env)).write(env);
                    object::finish_init(cb);
                    Ok(())
                }
                // Unreachable after the probe; the object stays marked uninitialised.
                Err(e) => Err(e.into()),
            }
        }
    })())
}

/// Starts a new episode; `seed` fixes the users shown and the reward noise. The first user's
/// index goes to `*user`.
///
/// # Safety
/// `cb` must be null or point to an `EcCb`, `user` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_reset(cb: *mut EcCb, seed: u64, user: *mut usize) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (c, user) = unsafe { (object::get_mut(cb)?, out(user)?) };
        *user = c.env.reset(seed)?;
        Ok(())
    })())
}

/// Recommends movie `arm` to the current user and fills `*result`.
/// `EC_STATUS_INVALID_ACTION` / `EC_STATUS_EPISODE_OVER` change nothing.
///
/// # Safety
/// `cb` must be null or point to an `EcCb`, `result` to an `EcCbStep`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_step(cb: *mut EcCb, arm: usize, result: *mut EcCbStep) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (c, result) = unsafe { (object::get_mut(cb)?, out(result)?) };
        let tr = c.env.step(arm)?;
        *result = EcCbStep {
            reward: tr.reward,
            expected_reward: tr.info.expected_reward,
            best_arm: tr.info.best_arm,
            best_expected_reward: tr.info.best_expected_reward,
            regret: tr.info.regret,
            user: tr.info.user,
            next_user: tr.observation,
            truncated: u8::from(tr.truncated),
        };
        Ok(())
    })())
}

/// The number of movies (arms).
///
/// # Safety
/// `cb` must be null or point to an `EcCb`, `arms` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_num_arms(cb: *const EcCb, arms: *mut usize) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (c, arms) = unsafe { (object::get(cb)?, out(arms)?) };
        *arms = c.env.num_actions();
        Ok(())
    })())
}

/// The current user's context (preference vector) into `context[0..dim]`; `*dim` gets its
/// length. `EC_STATUS_BUFFER_TOO_SMALL` (with `*dim` set) when `cap < dim`.
///
/// # Safety
/// `cb` must be null or point to an `EcCb`, `context` to `cap` doubles, `dim` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_context(
    cb: *const EcCb,
    context: *mut f64,
    cap: usize,
    dim: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (c, dim) = unsafe { (object::get(cb)?, out(dim)?) };
        let src = c.env.context();
        // SAFETY: the caller's contract.
        let dst = unsafe { slice_out(context, cap)? };
        let Some(dst) = dst.get_mut(..src.len()) else {
            *dim = src.len();
            return Err(EcStatus::BufferTooSmall);
        };
        dst.copy_from_slice(src);
        *dim = src.len();
        Ok(())
    })())
}

/// The index of the user the next step is for.
///
/// # Safety
/// `cb` must be null or point to an `EcCb`, `user` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_current_user(cb: *const EcCb, user: *mut usize) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (c, user) = unsafe { (object::get(cb)?, out(user)?) };
        *user = c.env.current_user_index();
        Ok(())
    })())
}

/// The title of movie `arm` into `buf`, NUL-terminated, length in `*len`
/// (`EC_STATUS_BUFFER_TOO_SMALL` with `*len` set when `cap <= len`).
///
/// # Safety
/// `cb` must be null or point to an `EcCb`, `buf` to `cap` bytes, `len` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_movie_title(
    cb: *const EcCb,
    arm: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let c = unsafe { object::get(cb)? };
        let title = c.env.movie_title(arm)?;
        // SAFETY: the caller's contract.
        unsafe { write_text(buf, cap, len, |w| Ok(w.write_str(title)?)) }
    })())
}

/// The movie named by `text` (`len` bytes): a title (case-insensitive) or an index.
/// `EC_STATUS_UNKNOWN_LABEL` when none matches.
///
/// # Safety
/// `cb` must be null or point to an `EcCb`, `text` to `len` bytes, `arm` to a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ec_cb_find_movie(
    cb: *const EcCb,
    text: *const c_char,
    len: usize,
    arm: *mut usize,
) -> EcStatus {
    to_status((|| {
        // SAFETY: the caller's contract.
        let (c, text, arm) = unsafe { (object::get(cb)?, text_arg(text, len)?, out(arm)?) };
        *arm = c.env.find_movie(text)?;
        Ok(())
    })())
}
