"""Export and import of a provider's whole availability setup (exportAvailability, importAvailability)."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from domain.availability_import import Counts, ImportMode
from resolvers import portability
from resolvers.portability import ImportReport as ImportReportRecord
from schema.context import Info
from schema.errors import NotFound, ValidationError, or_error_result, or_graphql_error

ImportModeEnum = strawberry.enum(
    ImportMode,
    name="ImportMode",
    description="MERGE adds the document to the provider's setup; REPLACE makes the setup the document's.",
)


@strawberry.input
class ImportAvailabilityInput:
    provider_id: strawberry.ID
    document: JSON = strawberry.field(description="A document as exportAvailability returns it.")
    mode: ImportModeEnum  # type: ignore[valid-type]
    dry_run: bool = strawberry.field(default=False, description="Report what would change; write nothing.")


@strawberry.type
class ImportCounts:
    created: int
    updated: int
    removed: int

    @staticmethod
    def of(counts: Counts) -> ImportCounts:
        return ImportCounts(created=counts.created, updated=counts.updated, removed=counts.removed)


@strawberry.type(
    description="What an import changed (or, when not applied, would change). With conflicts nothing is applied."
)
class ImportReport:
    applied: bool
    dry_run: bool
    mode: ImportModeEnum  # type: ignore[valid-type]
    provider: ImportCounts = strawberry.field(description="The provider's time zone and schedule zone.")
    services: ImportCounts
    weekly_windows: ImportCounts
    exceptions: ImportCounts = strawberry.field(description="Closed dates and date overrides.")
    date_windows: ImportCounts = strawberry.field(description="Extra windows on dates.")
    conflicts: list[str] = strawberry.field(description="Clashes that stopped the import.")
    notes: list[str] = strawberry.field(description="Things kept as they were, e.g. services with bookings.")

    @staticmethod
    def of(report: ImportReportRecord) -> ImportReport:
        return ImportReport(
            applied=report.applied,
            dry_run=report.dry_run,
            mode=report.mode,
            provider=ImportCounts.of(report.provider),
            services=ImportCounts.of(report.services),
            weekly_windows=ImportCounts.of(report.weekly_windows),
            exceptions=ImportCounts.of(report.exceptions),
            date_windows=ImportCounts.of(report.date_windows),
            conflicts=report.conflicts,
            notes=report.notes,
        )


ImportResult = Annotated[ImportReport | ValidationError | NotFound, strawberry.union("ImportResult")]


@strawberry.type
class PortabilityQuery:
    @strawberry.field(
        description="The provider's whole availability setup (services, weekly schedule, exceptions, "
        'date windows) as one versioned document ("format": "slotwise.availability", "version": 1).'
    )
    async def export_availability(self, info: Info, provider_id: strawberry.ID) -> JSON:
        document = await or_graphql_error(portability.export_availability(info.context.app, provider_id))
        return cast(JSON, document)


@strawberry.type
class PortabilityMutation:
    @strawberry.mutation(
        description="Checks the whole document, then applies it in one transaction, or nothing; "
        "never deletes or cancels a booking."
    )
    async def import_availability(self, info: Info, input: ImportAvailabilityInput) -> ImportResult:
        outcome = await or_error_result(
            portability.import_availability(
                info.context.app,
                input.provider_id,
                input.document,
                input.mode,
                input.dry_run,
                info.context.actor,
            )
        )
        if isinstance(outcome, ValidationError | NotFound):
            return outcome
        return ImportReport.of(outcome)
