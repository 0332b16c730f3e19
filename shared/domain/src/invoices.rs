//! Invoice arithmetic the server owns (a client never sets an amount or a total): each line's
//! amount is its quantity times its unit price, the totals are the lines' sum, and the due
//! date becomes Stripe's `days_until_due`.

use chrono::NaiveDate;

/// Stripe's largest amount in the smallest currency unit (eight digits).
pub const MAX_AMOUNT_CENTS: i64 = 99_999_999;
/// Days until due when the invoice names no due date.
pub const DEFAULT_DAYS_UNTIL_DUE: u32 = 30;
/// The latest due date accepted, in days from today.
pub const MAX_DAYS_UNTIL_DUE: i64 = 365;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceRuleError {
    #[error("line {line}: quantity must be between 1 and 1,000,000")]
    Quantity { line: usize },
    #[error("line {line}: unit_price_cents must be between 0 and 99,999,999")]
    UnitPrice { line: usize },
    #[error("the total would exceed 99,999,999 cents")]
    TooLarge,
    #[error("an invoice needs at least one line item")]
    NoLines,
    #[error("the due date has passed")]
    DuePassed,
    #[error("the due date is more than a year away")]
    DueTooFar,
    #[error("currency must be a three-letter ISO code (usd, eur, …)")]
    Currency,
}

/// One line as stored: quantity and unit price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub quantity: i64,
    pub unit_price_cents: i64,
}

/// Each line's amount, the subtotal and the total (no taxes or discounts yet, so equal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub amounts: Vec<i64>,
    pub subtotal_cents: i64,
    pub total_cents: i64,
}

pub fn totals(lines: &[Line]) -> Result<Totals, InvoiceRuleError> {
    if lines.is_empty() {
        return Err(InvoiceRuleError::NoLines);
    }
    let mut amounts = Vec::with_capacity(lines.len());
    let mut subtotal: i64 = 0;
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        if !(1..=1_000_000).contains(&line.quantity) {
            return Err(InvoiceRuleError::Quantity { line: number });
        }
        if !(0..=MAX_AMOUNT_CENTS).contains(&line.unit_price_cents) {
            return Err(InvoiceRuleError::UnitPrice { line: number });
        }
        let amount = line
            .quantity
            .checked_mul(line.unit_price_cents)
            .filter(|a| *a <= MAX_AMOUNT_CENTS)
            .ok_or(InvoiceRuleError::TooLarge)?;
        subtotal = subtotal
            .checked_add(amount)
            .filter(|s| *s <= MAX_AMOUNT_CENTS)
            .ok_or(InvoiceRuleError::TooLarge)?;
        amounts.push(amount);
    }
    Ok(Totals {
        amounts,
        subtotal_cents: subtotal,
        total_cents: subtotal,
    })
}

/// Stripe's `days_until_due` for an invoice due on `due` (30 days without a due date).
pub fn days_until_due(due: Option<NaiveDate>, today: NaiveDate) -> Result<u32, InvoiceRuleError> {
    let Some(due) = due else {
        return Ok(DEFAULT_DAYS_UNTIL_DUE);
    };
    let days = (due - today).num_days();
    if days < 0 {
        return Err(InvoiceRuleError::DuePassed);
    }
    if days > MAX_DAYS_UNTIL_DUE {
        return Err(InvoiceRuleError::DueTooFar);
    }
    u32::try_from(days).map_err(|_| InvoiceRuleError::DueTooFar)
}

/// A currency as Stripe takes it: three lowercase ASCII letters.
pub fn currency(code: &str) -> Result<String, InvoiceRuleError> {
    let code = code.trim().to_ascii_lowercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(code)
    } else {
        Err(InvoiceRuleError::Currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(quantity: i64, unit_price_cents: i64) -> Line {
        Line {
            quantity,
            unit_price_cents,
        }
    }

    #[test]
    fn amounts_and_totals_are_computed_from_quantities_and_unit_prices() {
        let t = totals(&[line(3, 2_500), line(1, 999)]).unwrap();
        assert_eq!(t.amounts, vec![7_500, 999]);
        assert_eq!((t.subtotal_cents, t.total_cents), (8_499, 8_499));
        assert_eq!(totals(&[]), Err(InvoiceRuleError::NoLines));
        assert_eq!(
            totals(&[line(0, 1)]),
            Err(InvoiceRuleError::Quantity { line: 1 })
        );
        assert_eq!(
            totals(&[line(1, 1), line(1, -5)]),
            Err(InvoiceRuleError::UnitPrice { line: 2 })
        );
        assert_eq!(
            totals(&[line(1_000_000, 99_999_999)]),
            Err(InvoiceRuleError::TooLarge)
        );
        assert_eq!(
            totals(&[line(1, 60_000_000), line(1, 60_000_000)]),
            Err(InvoiceRuleError::TooLarge)
        );
    }

    #[test]
    fn the_due_date_becomes_days_until_due() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(days_until_due(None, today), Ok(30));
        assert_eq!(days_until_due(Some(today), today), Ok(0));
        assert_eq!(
            days_until_due(NaiveDate::from_ymd_opt(2026, 12, 15), today),
            Ok(14)
        );
        assert_eq!(
            days_until_due(NaiveDate::from_ymd_opt(2026, 11, 30), today),
            Err(InvoiceRuleError::DuePassed)
        );
        assert_eq!(
            days_until_due(NaiveDate::from_ymd_opt(2028, 1, 1), today),
            Err(InvoiceRuleError::DueTooFar)
        );
    }

    #[test]
    fn currencies_are_three_lowercase_letters() {
        assert_eq!(currency(" USD "), Ok("usd".into()));
        for bad in ["", "us", "usdd", "u5d", "€ur"] {
            assert_eq!(currency(bad), Err(InvoiceRuleError::Currency), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn totals_never_panic_and_sum_the_amounts(
            lines in proptest::collection::vec((any::<i64>(), any::<i64>()), 0..20)
        ) {
            let lines: Vec<Line> = lines.into_iter().map(|(q, u)| line(q, u)).collect();
            if let Ok(t) = totals(&lines) {
                prop_assert_eq!(t.amounts.iter().sum::<i64>(), t.subtotal_cents);
                prop_assert!(t.total_cents <= MAX_AMOUNT_CENTS);
                for (amount, line) in t.amounts.iter().zip(&lines) {
                    prop_assert_eq!(*amount, line.quantity * line.unit_price_cents);
                }
            }
        }
    }
}
