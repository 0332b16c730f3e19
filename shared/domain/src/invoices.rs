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

/// One line as the e-mailed invoice shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownLine<'a> {
    pub description: &'a str,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub amount_cents: i64,
}

/// An invoice as e-mailed to a lead when the user has no Stripe account connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailedInvoice<'a> {
    pub reference: &'a str,
    pub currency: &'a str,
    pub lines: Vec<ShownLine<'a>>,
    pub total_cents: i64,
    pub due: Option<NaiveDate>,
    pub notes: Option<&'a str>,
}

/// `1234` cents in `usd` → `12.34 USD`.
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!(
        "{sign}{}.{:02} {}",
        cents / 100,
        cents % 100,
        currency.to_ascii_uppercase()
    )
}

/// Text safe in the e-mail's HTML and inert to the send pipeline's merge tags.
fn shown(text: &str) -> String {
    crate::email::escape_html(text)
        .replace('{', "&#123;")
        .replace('}', "&#125;")
}

/// The HTML body of an e-mailed invoice: a table of the lines, the total and the due date.
pub fn email_html(invoice: &EmailedInvoice<'_>) -> String {
    let mut rows = String::new();
    for line in &invoice.lines {
        rows.push_str(&format!(
            "<tr><td>{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td><td align=\"right\">{}</td></tr>",
            shown(line.description),
            line.quantity,
            money(line.unit_price_cents, invoice.currency),
            money(line.amount_cents, invoice.currency),
        ));
    }
    let due = invoice
        .due
        .map(|d| format!("<p>Due by {}.</p>", d.format("%B %-d, %Y")))
        .unwrap_or_default();
    let notes = invoice
        .notes
        .filter(|n| !n.trim().is_empty())
        .map(|n| format!("<p>{}</p>", shown(n)))
        .unwrap_or_default();
    format!(
        "<p>Invoice {reference}</p>{notes}<table cellpadding=\"6\"><tr><th align=\"left\">Description</th><th>Quantity</th><th>Unit price</th><th>Amount</th></tr>{rows}<tr><td colspan=\"3\" align=\"right\"><strong>Total</strong></td><td align=\"right\"><strong>{total}</strong></td></tr></table>{due}",
        reference = shown(invoice.reference),
        total = money(invoice.total_cents, invoice.currency),
    )
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

    #[test]
    fn an_emailed_invoice_shows_its_lines_escaped_and_inert_to_merge_tags() {
        let html = email_html(&EmailedInvoice {
            reference: "INV-1",
            currency: "eur",
            lines: vec![ShownLine {
                description: "<b>Audit</b> {{first_name}}",
                quantity: 3,
                unit_price_cents: 2_500,
                amount_cents: 7_500,
            }],
            total_cents: 7_500,
            due: NaiveDate::from_ymd_opt(2026, 12, 31),
            notes: Some("Thanks & see you"),
        });
        assert!(
            html.contains("&lt;b&gt;Audit&lt;/b&gt; &#123;&#123;first_name&#125;&#125;"),
            "{html}"
        );
        assert!(html.contains("25.00 EUR") && html.contains("75.00 EUR"));
        assert!(html.contains("Due by December 31, 2026."));
        assert!(html.contains("Thanks &amp; see you"));
        assert!(!html.contains("{{"));
        assert_eq!(money(5, "usd"), "0.05 USD");
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
