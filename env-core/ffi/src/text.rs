//! Text across the boundary: C strings in (pointer + length, UTF-8), rendered text out into a
//! caller buffer that reports the needed length.

use core::ffi::c_char;
use core::fmt;

use env_core::prompt::CountingWriter;
use env_core::Error;

use crate::status::EcStatus;

/// `len` bytes at `ptr` as UTF-8 (`ptr` may be null only when `len` is 0).
///
/// # Safety
/// A non-null `ptr` must point to `len` readable bytes.
pub(crate) unsafe fn text_arg<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, EcStatus> {
    // SAFETY: forwarded.
    let bytes = unsafe { slice_arg(ptr.cast::<u8>(), len)? };
    core::str::from_utf8(bytes).map_err(|_| EcStatus::InvalidUtf8)
}

/// `len` values at `ptr` (null only when `len` is 0), checked for alignment.
///
/// # Safety
/// A non-null `ptr` must point to `len` initialised values.
pub(crate) unsafe fn slice_arg<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], EcStatus> {
    if len == 0 {
        return Ok(&[]);
    }
    check_array(ptr, len)?;
    // SAFETY: non-null, aligned, the caller's length.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// `len` writable values at `ptr` (null only when `len` is 0).
///
/// # Safety
/// A non-null `ptr` must point to `len` writable values, not aliased by other arguments.
pub(crate) unsafe fn slice_out<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], EcStatus> {
    if len == 0 {
        return Ok(&mut []);
    }
    check_array(ptr, len)?;
    // SAFETY: as above.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

fn check_array<T>(ptr: *const T, len: usize) -> Result<(), EcStatus> {
    if ptr.is_null() {
        return Err(EcStatus::NullPointer);
    }
    if !(ptr as usize).is_multiple_of(core::mem::align_of::<T>()) {
        return Err(EcStatus::Misaligned);
    }
    if len > (isize::MAX as usize).checked_div(core::mem::size_of::<T>()).unwrap_or(usize::MAX) {
        return Err(EcStatus::OutOfRange);
    }
    Ok(())
}

/// A checked output pointer: non-null and aligned.
///
/// # Safety
/// A non-null `ptr` must point to a writable `T`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T) -> Result<&'a mut T, EcStatus> {
    check_array(ptr, 1)?;
    // SAFETY: checked; the caller's contract.
    Ok(unsafe { &mut *ptr })
}

/// A checked input pointer: non-null and aligned.
///
/// # Safety
/// A non-null `ptr` must point to a readable, valid `T`.
pub(crate) unsafe fn arg<'a, T>(ptr: *const T) -> Result<&'a T, EcStatus> {
    check_array(ptr, 1)?;
    // SAFETY: checked; the caller's contract.
    Ok(unsafe { &*ptr })
}

/// A `fmt::Write` into a byte slice that fails (instead of truncating) when full.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Renders text into `buf` (`cap` bytes) and NUL-terminates it. The length (without the NUL)
/// is stored in `*len_out` on success and on `EC_STATUS_BUFFER_TOO_SMALL` (then `buf` is left
/// untouched: the text is measured first). `buf` may be null when `cap` is 0, to ask for the
/// length. `render` runs once or twice and must write the same text each time.
///
/// # Safety
/// A non-null `buf` must point to `cap` writable bytes; a non-null `len_out` to a `usize`.
pub(crate) unsafe fn write_text(
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
    mut render: impl FnMut(&mut dyn fmt::Write) -> Result<(), Error>,
) -> Result<(), EcStatus> {
    // SAFETY: forwarded.
    let len_out = unsafe { out(len_out)? };
    let mut counter = CountingWriter::default();
    render(&mut counter)?;
    let needed = counter.len;
    if needed >= cap {
        if buf.is_null() && cap != 0 {
            return Err(EcStatus::NullPointer);
        }
        *len_out = needed;
        return Err(EcStatus::BufferTooSmall);
    }
    // SAFETY: forwarded (cap > needed >= 0, so buf must be non-null).
    let bytes = unsafe { slice_out(buf.cast::<u8>(), cap)? };
    let mut w = SliceWriter { buf: bytes, len: 0 };
    render(&mut w)?;
    let written = w.len;
    let nul = w.buf.get_mut(written).ok_or(EcStatus::BufferTooSmall)?;
    *nul = 0;
    *len_out = written;
    Ok(())
}

impl From<fmt::Error> for EcStatus {
    fn from(_: fmt::Error) -> Self {
        EcStatus::BufferTooSmall
    }
}
