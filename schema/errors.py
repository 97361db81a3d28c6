"""Expected failures as typed results, and as GraphQL errors where a query cannot return one."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from domain.errors import Forbidden, NotFoundProblem, Problem, ValidationProblem

T = TypeVar("T")


@strawberry.type(description="Input that breaks a rule; `field` names the input at fault.")
class ValidationError:
    field: str
    message: str


@strawberry.type(description="An id that names nothing of the kind asked for.")
class NotFound:
    id: strawberry.ID
    message: str


def as_error(problem: ValidationProblem | NotFoundProblem) -> ValidationError | NotFound:
    if isinstance(problem, NotFoundProblem):
        return NotFound(id=strawberry.ID(problem.id), message=problem.message)
    return ValidationError(field=problem.field, message=problem.message)


async def or_graphql_error(pending: Awaitable[T]) -> T:
    """Await a use case from a query; a problem becomes a GraphQL error naming the field."""
    try:
        return await pending
    except ValidationProblem as problem:
        raise GraphQLError(
            str(problem), extensions={"code": "VALIDATION_ERROR", "field": problem.field}
        ) from None
    except NotFoundProblem as problem:
        raise GraphQLError(str(problem), extensions={"code": "NOT_FOUND", "field": problem.field}) from None
    except Forbidden as refused:
        raise forbidden(refused) from None


def forbidden(refused: Forbidden) -> GraphQLError:
    return GraphQLError(refused.message, extensions={"code": "FORBIDDEN"})


async def or_error_result(pending: Awaitable[T]) -> T | ValidationError | NotFound:
    """Await a use case from a mutation; a problem becomes a typed error in its result union
    (a refusal, a GraphQL error with code FORBIDDEN)."""
    try:
        return await pending
    except (ValidationProblem, NotFoundProblem) as problem:
        return as_error(problem)
    except Forbidden as refused:
        raise forbidden(refused) from None


async def or_problem(pending: Awaitable[T]) -> T | Problem:
    """Await a use case that returns its expected failures; one it raises is returned the same way."""
    try:
        return await pending
    except (ValidationProblem, NotFoundProblem) as problem:
        return problem
    except Forbidden as refused:
        raise forbidden(refused) from None
