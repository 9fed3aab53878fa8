//! Status codes: every C function returns one; `ec_status_name` and `ec_status_message` name
//! them.

use core::ffi::c_char;

use env_core::Error;

/// The result of every call. `EC_STATUS_OK` (0) is success; everything else is an error and
/// the call changed no object.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcStatus {
    /// Success.
    Ok = 0,
    /// A required pointer was null.
    NullPointer = 1,
    /// A pointer was not aligned for its type.
    Misaligned = 2,
    /// The object was not initialised by its `ec_*_init` (or is another type of object).
    NotInitialized = 3,
    /// The object was moved or copied after its init; objects are bound to their address.
    Moved = 4,
    /// An output buffer is too small; the needed length was reported where the call says.
    BufferTooSmall = 5,
    /// A setting or count lies outside its allowed range.
    OutOfRange = 6,
    /// A value that must be finite was NaN or infinite.
    NotFinite = 7,
    /// An arm / action index that is not one of the environment's actions.
    InvalidAction = 8,
    /// A tic-tac-toe move onto an occupied cell.
    IllegalMove = 9,
    /// The episode is over: reset before stepping again.
    EpisodeOver = 10,
    /// A label that is not one of the environment's labels.
    UnknownLabel = 11,
    /// A fixed capacity is too small for the request.
    CapacityExceeded = 12,
    /// Two inputs that must agree in length do not.
    ShapeMismatch = 13,
    /// An input that must not be empty was empty (or an agent was used before its reset).
    Empty = 14,
    /// The answer contains no `ACTION=X` naming a valid action.
    NoValidAction = 15,
    /// A malformed template.
    BadTemplate = 16,
    /// Text that is not valid UTF-8.
    InvalidUtf8 = 17,
}

impl From<Error> for EcStatus {
    fn from(e: Error) -> Self {
        match e {
            Error::OutOfRange { .. } => EcStatus::OutOfRange,
            Error::NotFinite { .. } => EcStatus::NotFinite,
            Error::InvalidAction { .. } => EcStatus::InvalidAction,
            Error::IllegalMove { .. } => EcStatus::IllegalMove,
            Error::EpisodeOver => EcStatus::EpisodeOver,
            Error::UnknownLabel => EcStatus::UnknownLabel,
            Error::BufferTooSmall => EcStatus::BufferTooSmall,
            Error::CapacityExceeded { .. } => EcStatus::CapacityExceeded,
            Error::ShapeMismatch { .. } => EcStatus::ShapeMismatch,
            Error::Empty { .. } => EcStatus::Empty,
            Error::NoValidAction => EcStatus::NoValidAction,
            Error::BadTemplate { .. } => EcStatus::BadTemplate,
        }
    }
}

/// Every status with its name and message, in code order.
const TABLE: [(EcStatus, &core::ffi::CStr, &core::ffi::CStr); 18] = [
    (EcStatus::Ok, c"EC_STATUS_OK", c"success"),
    (EcStatus::NullPointer, c"EC_STATUS_NULL_POINTER", c"a required pointer is null"),
    (EcStatus::Misaligned, c"EC_STATUS_MISALIGNED", c"a pointer is not aligned for its type"),
    (EcStatus::NotInitialized, c"EC_STATUS_NOT_INITIALIZED", c"the object was not initialised by its init function"),
    (EcStatus::Moved, c"EC_STATUS_MOVED", c"the object was moved or copied after init"),
    (EcStatus::BufferTooSmall, c"EC_STATUS_BUFFER_TOO_SMALL", c"the output buffer is too small"),
    (EcStatus::OutOfRange, c"EC_STATUS_OUT_OF_RANGE", c"a setting or count is out of range"),
    (EcStatus::NotFinite, c"EC_STATUS_NOT_FINITE", c"a value must be a finite number"),
    (EcStatus::InvalidAction, c"EC_STATUS_INVALID_ACTION", c"the action is not one of the environment's actions"),
    (EcStatus::IllegalMove, c"EC_STATUS_ILLEGAL_MOVE", c"the position is not a free cell of the board"),
    (EcStatus::EpisodeOver, c"EC_STATUS_EPISODE_OVER", c"the episode is over; reset before stepping again"),
    (EcStatus::UnknownLabel, c"EC_STATUS_UNKNOWN_LABEL", c"the label is not one of the environment's actions"),
    (EcStatus::CapacityExceeded, c"EC_STATUS_CAPACITY_EXCEEDED", c"a fixed capacity is too small"),
    (EcStatus::ShapeMismatch, c"EC_STATUS_SHAPE_MISMATCH", c"input lengths do not agree"),
    (EcStatus::Empty, c"EC_STATUS_EMPTY", c"an input is empty, or the agent was not reset"),
    (EcStatus::NoValidAction, c"EC_STATUS_NO_VALID_ACTION", c"the answer contains no valid ACTION=X"),
    (EcStatus::BadTemplate, c"EC_STATUS_BAD_TEMPLATE", c"malformed template"),
    (EcStatus::InvalidUtf8, c"EC_STATUS_INVALID_UTF8", c"the text is not valid UTF-8"),
];

fn entry(code: i32) -> Option<&'static (EcStatus, &'static core::ffi::CStr, &'static core::ffi::CStr)> {
    TABLE.iter().find(|(s, _, _)| *s as i32 == code)
}

/// The name of a status code (`"EC_STATUS_EPISODE_OVER"`), as a static NUL-terminated string;
/// `"EC_STATUS_UNKNOWN"` for a code that is not one. Never null.
#[unsafe(no_mangle)]
pub extern "C" fn ec_status_name(code: i32) -> *const c_char {
    entry(code).map_or(c"EC_STATUS_UNKNOWN", |e| e.1).as_ptr()
}

/// A one-line English description of a status code, as a static NUL-terminated string
/// (`"unknown status code"` for a code that is not one). Never null.
#[unsafe(no_mangle)]
pub extern "C" fn ec_status_message(code: i32) -> *const c_char {
    entry(code).map_or(c"unknown status code", |e| e.2).as_ptr()
}

/// `Ok(())` or the status, as C returns it.
pub(crate) fn to_status(r: Result<(), EcStatus>) -> EcStatus {
    match r {
        Ok(()) => EcStatus::Ok,
        Err(s) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_code_order_and_names_match() {
        for (i, (s, name, _)) in TABLE.iter().enumerate() {
            assert_eq!(*s as usize, i);
            let n = name.to_str().unwrap();
            assert!(n.starts_with("EC_STATUS_"), "{n}");
        }
        let unknown = unsafe { core::ffi::CStr::from_ptr(ec_status_name(99)) };
        assert_eq!(unknown, c"EC_STATUS_UNKNOWN");
        let over = unsafe { core::ffi::CStr::from_ptr(ec_status_name(EcStatus::EpisodeOver as i32)) };
        assert_eq!(over, c"EC_STATUS_EPISODE_OVER");
    }
}
