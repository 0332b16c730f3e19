//! One model call, and handing back a reservation. A failed call refunds nothing by itself:
//! who reserved decides — a single call hands its reservation back at once, a run's job keeps
//! its share reserved across attempts and hands it back when it fails for good.

use scaliyo_store::{ModelReply, ModelRequest};

use super::{Ai, AiError, Reservation};

impl Ai {
    /// Calls the model; a failure is logged (provider and error, never the prompt).
    pub(super) async fn ask(&self, request: &ModelRequest) -> Result<ModelReply, AiError> {
        let model = self.model()?;
        model.generate(request).await.map_err(|error| {
            tracing::warn!(provider = model.provider(), %error, "the model call failed");
            error.into()
        })
    }

    /// Hands a reservation back; a refund that fails is logged (its credits stay used until
    /// the month ends — never more than the call reserved).
    pub(super) async fn refund_logged(&self, reservation: &Reservation) {
        if let Err(refund) = self.meter.refund(reservation).await {
            tracing::error!(%refund, credits = reservation.credits, "an AI reservation could not be handed back");
        }
    }
}
