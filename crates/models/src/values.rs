//! Field types with a meaning beyond their column: [`Money`], [`Decimal`], [`ForeignKey`],
//! [`Json`]. Each is stored in a plain column and shown in JSON the way DRF shows it.

use std::fmt;
use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::field_type::check_range;
use crate::{Field, FieldKind, FieldType, Literal, Model};

/// An amount of money in minor units (cents): `BIGINT` in the database, a decimal string in
/// JSON (`"12.50"`). The currency, if the model has one, is a field of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = BigInt)]
pub struct Money(i64);

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// `cents` minor units: `Money::cents(1250)` is 12.50.
    pub const fn cents(cents: i64) -> Money {
        Money(cents)
    }

    /// The amount in minor units.
    pub const fn as_cents(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&decimal_string(self.0, 2))
    }
}

impl FieldType for Money {
    type Sql = BigInt;
    const KIND: FieldKind = FieldKind::Money;

    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        parse_decimal(value, 2)
            .map(Money)
            .ok_or_else(|| "A valid amount with at most 2 decimal places is required.".into())
    }

    fn literal(&self) -> Option<Literal> {
        Some(Literal::Integer(self.0))
    }

    fn check(&self, field: &Field) -> Result<(), String> {
        check_range(self.0, field, |cents| decimal_string(cents, 2))
    }
}

/// A decimal number with `P` digits after the point, stored as a scaled integer: a
/// `Decimal<3>` of `1.250` is stored as `1250`. A decimal string in JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = BigInt)]
pub struct Decimal<const P: u8>(i64);

impl<const P: u8> Decimal<P> {
    /// The number whose scaled form is `units` (`Decimal::<2>::scaled(1250)` is 12.50).
    pub const fn scaled(units: i64) -> Decimal<P> {
        Decimal(units)
    }

    /// The scaled integer.
    pub const fn units(self) -> i64 {
        self.0
    }
}

impl<const P: u8> fmt::Display for Decimal<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&decimal_string(self.0, P))
    }
}

impl<const P: u8> FieldType for Decimal<P> {
    type Sql = BigInt;
    const KIND: FieldKind = FieldKind::Decimal { places: P };

    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        parse_decimal(value, P)
            .map(Decimal)
            .ok_or_else(|| format!("A valid number with at most {P} decimal places is required."))
    }

    fn literal(&self) -> Option<Literal> {
        Some(Literal::Integer(self.0))
    }

    fn check(&self, field: &Field) -> Result<(), String> {
        check_range(self.0, field, |units| decimal_string(units, P))
    }
}

/// `units` scaled by `places` digits, as text: `decimal_string(1250, 2)` is `"12.50"`.
pub(crate) fn decimal_string(units: i64, places: u8) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    if places == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(u32::from(places));
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = usize::from(places)
    )
}

/// Reads `"-12.5"`, `"12.50"`, `12`, `12.5` into units scaled by `places`; refuses more
/// digits after the point, exponents and amounts past `i64`.
fn parse_decimal(value: &Value, places: u8) -> Option<i64> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let decimal_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !decimal_digits(whole) || !decimal_digits(fraction) {
        return None;
    }
    if fraction.len() > usize::from(places) || (digits.contains('.') && fraction.is_empty()) {
        return None;
    }
    let scale = 10i64.checked_pow(u32::from(places))?;
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if places == 0 {
        0
    } else {
        format!("{fraction:0<width$}", width = usize::from(places))
            .parse()
            .ok()?
    };
    let units = whole.checked_mul(scale)?.checked_add(fraction)?;
    Some(if negative { -units } else { units })
}

/// The id of a row of model `M`: `BIGINT REFERENCES m_table (id)`, an integer in JSON.
/// As a model's field `customer: ForeignKey<User>` it is stored in column `customer_id`.
#[derive(AsExpression, FromSqlRow)]
#[diesel(sql_type = BigInt)]
pub struct ForeignKey<M> {
    id: i64,
    model: PhantomData<fn() -> M>,
}

impl<M> ForeignKey<M> {
    /// The row with primary key `id`.
    pub const fn new(id: i64) -> ForeignKey<M> {
        ForeignKey { id, model: PhantomData }
    }

    /// The referenced row's primary key.
    pub const fn id(&self) -> i64 {
        self.id
    }
}

impl<M> Clone for ForeignKey<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for ForeignKey<M> {}

impl<M> PartialEq for ForeignKey<M> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<M> Eq for ForeignKey<M> {}

impl<M> std::hash::Hash for ForeignKey<M> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl<M> fmt::Debug for ForeignKey<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ForeignKey({})", self.id)
    }
}

impl<M> From<i64> for ForeignKey<M> {
    fn from(id: i64) -> Self {
        ForeignKey::new(id)
    }
}

impl<M: Model> FieldType for ForeignKey<M> {
    type Sql = BigInt;
    const KIND: FieldKind = FieldKind::ForeignKey {
        model: M::NAME,
        table: M::TABLE,
    };

    fn to_json(&self) -> Value {
        Value::from(self.id)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Number(n) => n.as_i64().map(ForeignKey::new),
            Value::String(s) => s.trim().parse().ok().map(ForeignKey::new),
            _ => None,
        }
        .ok_or_else(|| format!("Incorrect type. Expected pk value, received {}.", json_type(value)))
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The primary key of a user: the type of an owner field, `customer: ForeignKey<User>`.
/// `#[derive(Model)]` checks that a field marked `#[duet(owner)]` has this type.
#[diagnostic::on_unimplemented(
    message = "an owner field must be a `ForeignKey<User>`, not `{Self}`",
    label = "the rows' owner: the user a queryset is scoped to"
)]
pub trait UserKey {}

impl UserKey for ForeignKey<crate::User> {}

/// Any JSON value (or a `T` that serializes to one), stored as text.
#[derive(Debug, Clone, PartialEq, Eq, Default, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Json<T = Value>(pub T);

impl<T> FieldType for Json<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + fmt::Debug + 'static,
{
    type Sql = Text;
    const KIND: FieldKind = FieldKind::Json;

    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        serde_json::from_value(value.clone())
            .map(Json)
            .map_err(|e| format!("Value must be valid JSON: {e}."))
    }

    fn from_text(text: &str) -> Result<Self, String> {
        serde_json::from_str(text)
            .map(Json)
            .map_err(|e| format!("Value must be valid JSON: {e}."))
    }
}

// Column conversions: each type is its inner value on the wire.

impl<DB: Backend> ToSql<BigInt, DB> for Money
where
    i64: ToSql<BigInt, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.0.to_sql(out)
    }
}

impl<DB: Backend> FromSql<BigInt, DB> for Money
where
    i64: FromSql<BigInt, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        i64::from_sql(bytes).map(Money)
    }
}

impl<DB: Backend, const P: u8> ToSql<BigInt, DB> for Decimal<P>
where
    i64: ToSql<BigInt, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.0.to_sql(out)
    }
}

impl<DB: Backend, const P: u8> FromSql<BigInt, DB> for Decimal<P>
where
    i64: FromSql<BigInt, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        i64::from_sql(bytes).map(Decimal)
    }
}

impl<DB: Backend, M> ToSql<BigInt, DB> for ForeignKey<M>
where
    i64: ToSql<BigInt, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.id.to_sql(out)
    }
}

impl<DB: Backend, M> FromSql<BigInt, DB> for ForeignKey<M>
where
    i64: FromSql<BigInt, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        i64::from_sql(bytes).map(ForeignKey::new)
    }
}

impl<T: Serialize + fmt::Debug> ToSql<Text, diesel::sqlite::Sqlite> for Json<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, diesel::sqlite::Sqlite>) -> serialize::Result {
        out.set_value(serde_json::to_string(&self.0)?);
        Ok(serialize::IsNull::No)
    }
}

impl<T: Serialize + fmt::Debug> ToSql<Text, diesel::pg::Pg> for Json<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, diesel::pg::Pg>) -> serialize::Result {
        use std::io::Write;
        out.write_all(serde_json::to_string(&self.0)?.as_bytes())?;
        Ok(serialize::IsNull::No)
    }
}

impl<DB: Backend, T: DeserializeOwned> FromSql<Text, DB> for Json<T>
where
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        Ok(Json(serde_json::from_str(&text)?))
    }
}
