//! The extension's settings, as PostgreSQL parameters a superuser sets for the database
//! (`alter database cosound set cosound.mix_margin = 0.08`) or a session: how steady the
//! room's mix is (`steady.rs`). Their defaults are the rules' constants.

use cosound_rules::steady::{self, Rules};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

static STEADY_MIX: GucSetting<bool> = GucSetting::<bool>::new(true);
static MIX_MARGIN: GucSetting<f64> = GucSetting::<f64>::new(steady::MARGIN);
static LAYER_TURN: GucSetting<i32> = GucSetting::<i32>::new(steady::TURN_SECONDS as i32);

/// Defines the parameters; called once, when PostgreSQL loads the library.
pub fn register() {
    GucRegistry::define_bool_guc(
        c"cosound.steady_mix",
        c"Whether a queue refresh moves the playing layers at most one step at a time.",
        c"Off, every refresh plays the ranking's proposal whole.",
        &STEADY_MIX,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"cosound.mix_margin",
        c"How much better (in cosine similarity) a layer must fit the room to replace one early.",
        c"A layer that has not played its turn gives way only to one fitting this much better.",
        &MIX_MARGIN,
        0.0,
        2.0,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"cosound.layer_turn",
        c"How long a layer plays before it gives way to a proposed one that fits no better.",
        c"",
        &LAYER_TURN,
        0,
        24 * 3600,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
}

/// The steady-mix rules in force; `None` when the steady mix is off.
pub fn steady_rules() -> Option<Rules> {
    STEADY_MIX.get().then(|| Rules {
        margin: MIX_MARGIN.get(),
        turn_seconds: f64::from(LAYER_TURN.get()),
    })
}
