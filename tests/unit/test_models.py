"""Models: falsy values and unknown fields kept, dictionary and JSON round trips."""

import json

import pytest

from mdnotesropcgwithoutauthscopes.models.note import Note
from mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum import OAuthProviderErrorEnum
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from mdnotesropcgwithoutauthscopes.models.service_status import ServiceStatus
from mdnotesropcgwithoutauthscopes.models.user import User


def test_falsy_values_are_kept():
    status = ServiceStatus.from_dictionary({"notes": 0, "users": 0, "app": "", "status": False})
    assert status.notes == 0 and status.users == 0 and status.app == "" and status.status is False
    assert status.to_dictionary() == {"notes": 0, "users": 0, "app": "", "status": False}


def test_unknown_fields_are_kept_and_written_back():
    user = User.from_dictionary({"id": 0, "name": "A", "role": "admin", "tags": []})
    assert user.id == 0
    assert user.additional_properties == {"role": "admin", "tags": []}
    assert user.to_dictionary() == {"id": 0, "name": "A", "role": "admin", "tags": []}


@pytest.mark.parametrize(
    "model, data",
    [
        (
            ServiceStatus,
            {
                "app": "MdNotes",
                "moto": "m",
                "notes": 3,
                "users": 2,
                "time": "t",
                "os": "o",
                "php_version": "8",
                "status": "ok",
            },
        ),
        (User, {"id": 1, "name": "n", "email": "e", "created_at": "c", "updated_at": "u"}),
        (Note, {"id": 1, "title": "t", "body": "# b", "user_id": 0, "created_at": "c", "updated_at": "u"}),
        (
            OAuthToken,
            {
                "access_token": "a",
                "token_type": "Bearer",
                "expires_in": 60,
                "scope": "",
                "expiry": 1800000060,
                "refresh_token": "r",
                "extra": {"x": 1},
            },
        ),
    ],
)
def test_round_trip_through_dictionary_and_json(model, data):
    instance = model.from_dictionary(data)
    assert instance.to_dictionary() == data
    again = model.from_dictionary(json.loads(json.dumps(instance.to_dictionary())))
    assert again == instance


def test_token_survives_storage_as_json():
    token = OAuthToken("a", "Bearer", "3600", expiry=1800003600.5, refresh_token="r")
    restored = OAuthToken.from_dictionary(json.loads(json.dumps(token.to_dictionary())))
    assert restored == token
    assert restored.expires_in == 3600 and restored.expiry == 1800003600.5


def test_from_dictionary_none_and_wrong_type():
    assert User.from_dictionary(None) is None
    with pytest.raises(TypeError, match="User"):
        User.from_dictionary([1])


def test_equality_is_by_content():
    assert User(id=1) == User(id=1)
    assert User(id=1) != User(id=2)
    assert User(id=1) != Note(id=1)


def test_error_enum_values_are_rfc_strings():
    assert OAuthProviderErrorEnum.INVALID_REQUEST == "invalid_request"
    assert OAuthProviderErrorEnum.INVALID_CLIENT == "invalid_client"
    assert OAuthProviderErrorEnum.INVALID_GRANT == "invalid_grant"
    assert OAuthProviderErrorEnum.UNAUTHORIZED_CLIENT == "unauthorized_client"
    assert OAuthProviderErrorEnum.UNSUPPORTED_GRANT_TYPE == "unsupported_grant_type"
    assert OAuthProviderErrorEnum.INVALID_SCOPE == "invalid_scope"
    assert OAuthProviderErrorEnum.is_valid("invalid_grant") and not OAuthProviderErrorEnum.is_valid("nope")


def test_json_serialize_models_nested_values_and_plain_objects():
    from mdnotesropcgwithoutauthscopes.api_helper import APIHelper

    class Plain:
        def __init__(self):
            self.name = "n"
            self.count = 0

    token = OAuthToken("a", "Bearer", 60, expiry=1800000060, refresh_token="r")
    assert json.loads(APIHelper.json_serialize(token)) == token.to_dictionary()
    assert json.loads(APIHelper.json_serialize({"user": User(id=0), "n": [1]})) == {"user": {"id": 0}, "n": [1]}
    assert json.loads(APIHelper.json_serialize(Plain())) == {"name": "n", "count": 0}
