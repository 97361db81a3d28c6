"""GraphQL documents for the booking operations."""

from __future__ import annotations

ERRORS = """
  ... on NotFound { id message }
  ... on ValidationError { field message }"""
BOOKING = f"""__typename
  ... on Booking {{ id start end status customerId cancelReason }}
  ... on SlotUnavailable {{ reason message }}
  ... on HoldExpired {{ holdId message }}
  ... on IdempotencyConflict {{ idempotencyKey message }} {ERRORS}"""
HOLD_RESULT = f"""__typename
  ... on Hold {{ id start expiresAt status }}
  ... on SlotUnavailable {{ reason message }}
  ... on IdempotencyConflict {{ idempotencyKey message }} {ERRORS}"""

CREATE_BOOKING = (
    f"""mutation($input: CreateBookingInput!) {{ createBooking(input: $input) {{ {BOOKING} }} }}"""
)
HOLD = f"""mutation($input: HoldSlotInput!) {{ holdSlot(input: $input) {{ {HOLD_RESULT} }} }}"""
CONFIRM = f"""mutation($input: ConfirmHoldInput!) {{ confirmHold(input: $input) {{ {BOOKING} }} }}"""
RELEASE = f"""mutation($id: ID!, $customer: String) {{ releaseHold(holdId: $id, customerId: $customer) {{
  __typename ... on Hold {{ id status }} {ERRORS} }} }}"""
CANCEL = f"""mutation($input: CancelBookingInput!) {{ cancelBooking(input: $input) {{ {BOOKING} }} }}"""
RESCHEDULE = (
    f"""mutation($input: RescheduleBookingInput!) {{ rescheduleBooking(input: $input) {{ {BOOKING} }} }}"""
)
SMART_BOOK = """mutation($input: SmartBookInput!) { smartBook(input: $input) { __typename
  ... on SmartBooking { score timeDifferenceMinutes booking { id start } }
  ... on NotFound { message } ... on ValidationError { field message } ... on SlotUnavailable { reason } } }"""
SUGGEST = """query($input: SuggestSlotsInput!) { suggestSlots(input: $input) {
  start end score timeDifferenceMinutes } }"""

OVERLAPS = """
SELECT count(*) FROM reservations a JOIN reservations b
  ON a.provider_id = b.provider_id AND a.id < b.id AND a.occupied && b.occupied
WHERE a.status IN ('PENDING', 'CONFIRMED', 'PAID', 'IN_PROGRESS', 'HELD')
  AND b.status IN ('PENDING', 'CONFIRMED', 'PAID', 'IN_PROGRESS', 'HELD')
"""
