"""Typed error codes: every business error is a class with its code in its module's errors.py;
each domain's mutation payloads expose the codes as an enum (`<Domain>ErrorCode`), documented in
the SDL; a raised error of another module degrades to the nearest code the enum has."""
from __future__ import annotations

import importlib
import inspect

import pytest

from app.core.errors import AppError, ValidationFailed
from app.domains import app_modules
from schema import schema
from schema.errors import COMMON, domain_errors

PAYLOAD_ERRORS = {"app.customer.errors": "CustomerErrorCode", "app.tenant.errors": "TenantErrorCode",
                  "app.oauth.errors": "OAuthErrorCode", "app.complaint.errors": "ComplaintErrorCode",
                  "app.survey.errors": "SurveyErrorCode", "app.sla.errors": "SlaErrorCode"}


def _declared(module_name: str) -> list[type[AppError]]:
    module = importlib.import_module(module_name)
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, AppError) and c.__module__ == module_name]


def test_every_domain_errors_module_is_an_enum_in_the_sdl():
    assert set(app_modules("errors")) == set(PAYLOAD_ERRORS)
    for module_name, enum_name in PAYLOAD_ERRORS.items():
        gql_enum = schema._schema.type_map[enum_name]
        values = set(gql_enum.values)
        declared = _declared(module_name)
        assert declared, module_name
        for cls in (*COMMON, *declared):
            assert cls.code in values, (enum_name, cls.code)
            assert gql_enum.values[cls.code].description  # documented
        assert len({c.code for c in declared}) == len(declared), f"{module_name}: a code is declared twice"


def test_codes_are_upper_snake_case_and_belong_to_classes():
    for module_name in PAYLOAD_ERRORS:
        for cls in _declared(module_name):
            assert cls.code.isupper() and cls.code.replace("_", "").isalpha(), cls
            assert cls.code != AppError.code
    with pytest.raises(TypeError):
        ValidationFailed("x", code="MADE_UP")  # a code comes with a class, never ad hoc


def test_payload_errors_are_typed_enums():
    payload = schema._schema.type_map["CustomerPayload"]
    errors_type = payload.fields["errors"].type.of_type.of_type.of_type  # [CustomerError!]!
    assert errors_type.name == "CustomerError"
    assert errors_type.fields["code"].type.of_type.name == "CustomerErrorCode"
    assert schema._schema.type_map["DealerPayload"].fields["errors"].type.of_type.of_type.of_type.name == "TenantError"
    assert schema._schema.type_map["PartnerAppPayload"].fields["errors"].type.of_type.of_type.of_type.name == "OAuthError"
    assert "UserError" not in schema._schema.type_map


def test_an_error_the_enum_lacks_takes_its_nearest_code():
    from app.customer.errors import ExternalIdTaken
    from app.tenant.errors import CodeTaken

    only_common = domain_errors("Probe", None)
    [entry] = only_common.of(ExternalIdTaken("taken", field="externalRefs"))
    assert entry.code.value == "INVALID" and entry.field == "externalRefs" and entry.message == "taken"
    [entry] = only_common.of(CodeTaken())
    assert entry.code.value == "CONFLICT"


async def test_a_mutation_answers_its_enum_value(gql, brand_a):
    body = await gql(brand_a.token(), 'mutation { dealerCreate(input: {code: "N-001", name: "again", region: "north"}) { dealer { id } errors { field code message } } }')
    [err] = body["data"]["dealerCreate"]["errors"]
    assert err["code"] == "CODE_TAKEN" and err["field"] == "code"
    body = await gql(brand_a.token(), 'mutation { dealerCreate(input: {code: "Z-9", name: "z", region: "north", timeZone: "Mars/Base"}) { errors { code } } }')
    assert body["data"]["dealerCreate"]["errors"] == [{"code": "INVALID_TIME_ZONE"}]
