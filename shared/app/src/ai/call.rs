//! One model call on credits already reserved: the reservation handed back whole when the
//! model fails, so the caller only settles what succeeded.

use scaliyo_store::{ModelReply, ModelRequest};

use super::{Ai, AiError, Reservation};

impl Ai {
    /// Calls the model; on failure the reservation is refunded and the error returned.
    pub(super) async fn model_call(
        &self,
        reservation: &Reservation,
        request: &ModelRequest,
    ) -> Result<ModelReply, AiError> {
        let model = self.model()?;
        match model.generate(request).await {
            Ok(reply) => Ok(reply),
            Err(error) => {
                self.refund_logged(reservation).await;
                tracing::warn!(provider = model.provider(), %error, "the model call failed");
                Err(error.into())
            }
        }
    }

    /// Hands a reservation back; a refund that fails is logged (its credits stay used until
    /// the month ends — never more than the call reserved).
    pub(super) async fn refund_logged(&self, reservation: &Reservation) {
        if let Err(refund) = self.meter.refund(reservation).await {
            tracing::error!(%refund, credits = reservation.credits, "an AI reservation could not be handed back");
        }
    }
}
