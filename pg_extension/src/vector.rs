//! pgvector's `vector` as a Rust argument and return type, so SQL functions take and return
//! embeddings with no casts. All of the extension's unsafe code is in this file.
//!
//! On disk and in memory a `vector` is a varlena: a 4-byte header, an `int16` dimension count,
//! an unused `int16`, then `float4[dim]`. Inputs are copied out (a taste vector is 20 bytes, so
//! borrowing would save nothing); outputs are built in the current memory context.

use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::nullable::Nullable;
use pgrx::prelude::*;
use pgrx::{FromDatum, IntoDatum};

/// Byte offset of the first float after the varlena header, `dim` and the unused field.
const DATA_OFFSET: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct Vector(pub Vec<f32>);

pgrx::pgrx_sql_entity_graph::impl_sql_translatable!(Vector, "vector");

impl FromDatum for Vector {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _typoid: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        unsafe {
            let raw = datum.cast_mut_ptr::<pg_sys::varlena>();
            let detoasted = pg_sys::pg_detoast_datum(raw);
            let base = detoasted.cast::<u8>();
            let dim = base.add(4).cast::<i16>().read_unaligned();
            let floats = base.add(DATA_OFFSET).cast::<f32>();
            let values = (0..dim.max(0) as usize)
                .map(|i| floats.add(i).read_unaligned())
                .collect();
            if detoasted != raw {
                pg_sys::pfree(detoasted.cast());
            }
            Some(Vector(values))
        }
    }
}

impl IntoDatum for Vector {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        let size = DATA_OFFSET + 4 * self.0.len();
        let dim = i16::try_from(self.0.len()).expect("vector dimensions fit in int16");
        unsafe {
            let base = pg_sys::palloc0(size).cast::<u8>();
            pgrx::set_varsize_4b(base.cast(), size as i32);
            base.add(4).cast::<i16>().write_unaligned(dim);
            let floats = base.add(DATA_OFFSET).cast::<f32>();
            for (i, value) in self.0.iter().enumerate() {
                floats.add(i).write_unaligned(*value);
            }
            Some(pg_sys::Datum::from(base))
        }
    }

    fn type_oid() -> pg_sys::Oid {
        pgrx::regtypein("vector")
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for Vector {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe {
            arg.unbox_arg_using_from_datum()
                .unwrap_or_else(|| panic!("argument {index} must not be null"))
        }
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum().into() }
    }
}

unsafe impl BoxRet for Vector {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        match self.into_datum() {
            Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            None => fcinfo.return_null(),
        }
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::Vector;
    use pgrx::prelude::*;

    #[pg_extern]
    fn cosound_test_vector_echo(v: Vector) -> Vector {
        v
    }

    #[pg_test]
    fn a_vector_round_trips_through_rust() {
        let text =
            Spi::get_one::<String>("select tests.cosound_test_vector_echo('[1,2.5,-3,0,4]')::text")
                .unwrap();
        assert_eq!(text.as_deref(), Some("[1,2.5,-3,0,4]"));
    }

    #[pg_test]
    fn a_vector_stored_with_a_short_header_is_read_whole() {
        Spi::run("create temp table t (v vector(5)); insert into t values ('[0.5,0.25,0,1,2]')")
            .unwrap();
        let text = Spi::get_one::<String>("select tests.cosound_test_vector_echo(v)::text from t")
            .unwrap();
        assert_eq!(text.as_deref(), Some("[0.5,0.25,0,1,2]"));
    }

    #[pg_test]
    fn a_long_vector_is_read_whole() {
        let dims = Spi::get_one::<i32>(
            "select vector_dims(tests.cosound_test_vector_echo(array_fill(1.5::real, array[300])::vector))",
        )
        .unwrap();
        assert_eq!(dims, Some(300));
    }

    #[pg_test]
    fn a_compressed_vector_is_read_whole() {
        Spi::run("create temp table big (v vector(3000)); insert into big select array_fill(1.5::real, array[3000])::vector").unwrap();
        let sum = Spi::get_one::<f64>(
            "select sum(x)::float8 from big, unnest(tests.cosound_test_vector_echo(big.v)::real[]) x",
        )
        .unwrap();
        assert_eq!(sum, Some(4500.0));
    }
}
