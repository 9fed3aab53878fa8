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
const TABLE: [(EcStatus, &[u8], &[u8]); 18] = [
    (EcStatus::Ok, b"EC_STATUS_OK\0", b"success\0"),
    (EcStatus::NullPointer, b"EC_STATUS_NULL_POINTER\0", b"a required pointer is null\0"),
    (EcStatus::Misaligned, b"EC_STATUS_MISALIGNED\0", b"a pointer is not aligned for its type\0"),
    (
        EcStatus::NotInitialized,
        b"EC_STATUS_NOT_INITIALIZED\0",
        b"the object was not initialised by its init function\0",
    ),
    (EcStatus::Moved, b"EC_STATUS_MOVED\0", b"the object was moved or copied after init\0"),
    (EcStatus::BufferTooSmall, b"EC_STATUS_BUFFER_TOO_SMALL\0", b"the output buffer is too small\0"),
    (EcStatus::OutOfRange, b"EC_STATUS_OUT_OF_RANGE\0", b"a setting or count is out of range\0"),
    (EcStatus::NotFinite, b"EC_STATUS_NOT_FINITE\0", b"a value must be a finite number\0"),
    (
        EcStatus::InvalidAction,
        b"EC_STATUS_INVALID_ACTION\0",
        b"the action is not one of the environment's actions\0",
    ),
    (EcStatus::IllegalMove, b"EC_STATUS_ILLEGAL_MOVE\0", b"the position is not a free cell of the board\0"),
    (
        EcStatus::EpisodeOver,
        b"EC_STATUS_EPISODE_OVER\0",
        b"the episode is over; reset before stepping again\0",
    ),
    (
        EcStatus::UnknownLabel,
        b"EC_STATUS_UNKNOWN_LABEL\0",
        b"the label is not one of the environment's actions\0",
    ),
    (EcStatus::CapacityExceeded, b"EC_STATUS_CAPACITY_EXCEEDED\0", b"a fixed capacity is too small\0"),
    (EcStatus::ShapeMismatch, b"EC_STATUS_SHAPE_MISMATCH\0", b"input lengths do not agree\0"),
    (EcStatus::Empty, b"EC_STATUS_EMPTY\0", b"an input is empty, or the agent was not reset\0"),
    (EcStatus::NoValidAction, b"EC_STATUS_NO_VALID_ACTION\0", b"the answer contains no valid ACTION=X\0"),
    (EcStatus::BadTemplate, b"EC_STATUS_BAD_TEMPLATE\0", b"malformed template\0"),
    (EcStatus::InvalidUtf8, b"EC_STATUS_INVALID_UTF8\0", b"the text is not valid UTF-8\0"),
];

fn entry(code: i32) -> Option<&'static (EcStatus, &'static [u8], &'static [u8])> {
    TABLE.iter().find(|(s, _, _)| *s as i32 == code)
}

/// The name of a status code (`"EC_STATUS_EPISODE_OVER"`), as a static NUL-terminated string;
/// `"EC_STATUS_UNKNOWN"` for a code that is not one. Never null.
#[no_mangle]
pub extern "C" fn ec_status_name(code: i32) -> *const c_char {
    entry(code).map_or(&b"EC_STATUS_UNKNOWN\0"[..], |e| e.1).as_ptr().cast()
}

/// A one-line English description of a status code, as a static NUL-terminated string
/// (`"unknown status code"` for a code that is not one). Never null.
#[no_mangle]
pub extern "C" fn ec_status_message(code: i32) -> *const c_char {
    entry(code).map_or(&b"unknown status code\0"[..], |e| e.2).as_ptr().cast()
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
            let n = core::ffi::CStr::from_bytes_with_nul(name).unwrap().to_str().unwrap();
            assert!(n.starts_with("EC_STATUS_"), "{n}");
        }
        let unknown = unsafe { core::ffi::CStr::from_ptr(ec_status_name(99)) };
        assert_eq!(unknown.to_bytes(), b"EC_STATUS_UNKNOWN");
        let over = unsafe { core::ffi::CStr::from_ptr(ec_status_name(EcStatus::EpisodeOver as i32)) };
        assert_eq!(over.to_bytes(), b"EC_STATUS_EPISODE_OVER");
    }
}
