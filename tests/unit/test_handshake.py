"""The handshake state machine (cassfast._handshake.Handshake), every step and every failure,
without a server: the answers are message objects, or bytes decoded by the protocol layer where
the wire form matters.  The transports that drive it (Connection over asyncio, Lane over a
blocking socket) are proven against real nodes by the integration tests of connect, auth, TLS,
compression, lanes and protocol negotiation.
"""
import struct

import pytest

from cassfast import AuthenticationFailed, ProtocolVersion, __version__, _wire, protocol
from cassfast._core import ProtocolError
from cassfast._handshake import PLAIN, Done, Framing, Handshake, Send
from cassfast.auth import PlainTextAuthProvider
from cassfast.connection import ConnectionException, ProtocolVersionUnsupported
from cassfast.host import DefaultEndPoint

ENDPOINT = DefaultEndPoint("10.0.0.7", 9042)
PASSWORD = "s3cret-Pa55"


def lz4_c(data):
    return b"L" + data


def lz4_d(data):
    return data[1:]


def snappy_c(data):
    return b"S" + data


def snappy_d(data):
    return data[1:]


# Stand-in codecs, so that the choice does not depend on which libraries are installed.
CODECS = {"lz4": (lz4_c, lz4_d), "snappy": (snappy_c, snappy_d)}


def make(version=4, **kwargs):
    kwargs.setdefault("compressions", CODECS)
    return Handshake(version, ENDPOINT, **kwargs)


def supported(*compressions):
    options = {"PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5"]}
    if compressions:
        options["COMPRESSION"] = list(compressions)
    return protocol.SupportedMessage(cql_versions=["3.4.7"], options=options)


def error(code, message):
    cls = protocol.error_classes.get(code, protocol.ErrorMessage)
    return cls(code=code, message=message, info=None)


def to_startup(handshake, *compressions):
    handshake.start()
    return handshake.on_response(supported(*compressions))


def encode(message, version=4, compressor=None):
    return protocol.ProtocolHandler.encode_message(message, 0, version, compressor, False)


# ---------------------------------------------------------------------------------------------- OPTIONS

def test_start_sends_options_in_the_legacy_framing():
    step = make().start()
    assert isinstance(step, Send) and step.message.opcode == _wire.OPCODE_OPTIONS
    assert step.framing == PLAIN
    # v4 header: version 4, flags 0, stream 0, opcode OPTIONS, empty body.
    assert encode(step.message) == bytes([4, 0, 0, 0, _wire.OPCODE_OPTIONS, 0, 0, 0, 0])


def test_start_twice_is_refused():
    handshake = make()
    handshake.start()
    with pytest.raises(RuntimeError, match="twice"):
        handshake.start()


def test_an_answer_before_start_is_refused():
    with pytest.raises(RuntimeError, match="new"):
        make().on_response(supported())


def test_supported_decoded_from_its_wire_form_leads_to_startup():
    body = struct.pack(">H", 2)
    for key, values in (("CQL_VERSION", ["3.4.7"]), ("COMPRESSION", ["snappy", "lz4"])):
        body += struct.pack(">H", len(key)) + key.encode() + struct.pack(">H", len(values))
        for value in values:
            body += struct.pack(">H", len(value)) + value.encode()
    answer = protocol.ProtocolHandler.decode_message(4, {}, 0, 0, _wire.OPCODE_SUPPORTED, body,
                                                     None, None)
    handshake = make()
    handshake.start()
    step = handshake.on_response(answer)
    assert step.message.opcode == _wire.OPCODE_STARTUP
    assert step.message.options["COMPRESSION"] == "lz4"  # ours first, as the reference
    assert handshake.supported_options == {"COMPRESSION": ["snappy", "lz4"]}


def test_startup_options_carry_the_driver_and_the_application():
    handshake = make(cql_version="3.4.5", no_compact=True, application_name="app",
                     application_version="1.2")
    step = to_startup(handshake)
    assert step.message.options == {
        "CQL_VERSION": "3.4.5", "DRIVER_NAME": "cassfast", "DRIVER_VERSION": __version__,
        "NO_COMPACT": "true", "APPLICATION_NAME": "app", "APPLICATION_VERSION": "1.2"}
    assert step.message.cqlversion == "3.4.5"


def test_startup_options_default_to_cql_3_0_0_without_extras():
    step = to_startup(make())
    assert step.message.options == {"CQL_VERSION": "3.0.0", "DRIVER_NAME": "cassfast",
                                    "DRIVER_VERSION": __version__}


# ---------------------------------------------------------------------------------------------- compression

def test_no_compression_when_the_server_offers_none():
    handshake = make()
    step = to_startup(handshake)
    assert "COMPRESSION" not in step.message.options and step.framing == PLAIN
    done = handshake.on_response(protocol.ReadyMessage())
    assert isinstance(done, Done) and done.framing == PLAIN


def test_no_compression_when_it_is_turned_off():
    handshake = make(compression=False)
    assert "COMPRESSION" not in to_startup(handshake, "lz4", "snappy").message.options
    assert handshake.on_response(protocol.ReadyMessage()).framing == PLAIN


def test_v4_lz4_is_preferred_decompression_on_before_startup_compression_after_its_answer():
    handshake = make()
    step = to_startup(handshake, "snappy", "lz4")
    assert step.message.options["COMPRESSION"] == "lz4"
    # v4 spec 5: STARTUP goes uncompressed, but READY may already be compressed.
    assert step.framing == Framing(decompressor=lz4_d)
    done = handshake.on_response(protocol.ReadyMessage())
    assert done.framing == Framing("lz4", lz4_c, lz4_d, False)
    assert done.result.startup_options["COMPRESSION"] == "lz4"


def test_v4_snappy_when_it_is_the_only_one_offered():
    handshake = make()
    step = to_startup(handshake, "SNAPPY")  # names are compared case-insensitively
    assert step.message.options["COMPRESSION"] == "snappy"
    assert handshake.on_response(protocol.ReadyMessage()).framing == Framing(
        "snappy", snappy_c, snappy_d, False)


def test_a_named_compression_is_used_when_offered_and_skipped_when_not():
    assert to_startup(make(compression="snappy"), "lz4", "snappy").message.options[
        "COMPRESSION"] == "snappy"
    handshake = make(compression="lz4")
    assert "COMPRESSION" not in to_startup(handshake, "snappy").message.options
    assert handshake.on_response(protocol.ReadyMessage()).framing == PLAIN


def test_a_compression_not_installed_locally_is_refused_at_construction():
    with pytest.raises(ValueError, match="'zstd' is not available locally"):
        make(compression="zstd")
    with pytest.raises(ValueError, match="not available locally"):
        make(compression="snappy", compressions={"lz4": CODECS["lz4"]})


def test_an_offered_compression_without_a_local_codec_is_not_chosen():
    handshake = make(compressions={"snappy": CODECS["snappy"]})
    assert to_startup(handshake, "lz4").message.options.get("COMPRESSION") is None


def test_v5_compresses_segments_with_lz4_only():
    handshake = make(5)
    step = to_startup(handshake, "snappy", "lz4")
    assert step.message.options["COMPRESSION"] == "lz4"
    assert step.framing == PLAIN  # no body compression in v5: STARTUP and its answer are plain
    named_snappy = make(5, compression="snappy")
    assert "COMPRESSION" not in to_startup(named_snappy, "snappy", "lz4").message.options
    only_snappy = make(5)
    assert "COMPRESSION" not in to_startup(only_snappy, "snappy").message.options


# ---------------------------------------------------------------------------------------------- v5 segments

def test_v5_segments_start_after_ready():
    handshake = make(5)
    to_startup(handshake, "lz4")
    done = handshake.on_response(protocol.ReadyMessage())
    assert done.framing == Framing(compression="lz4", segments=True)


def test_v5_segments_without_compression_when_none_is_negotiated():
    handshake = make(5)
    to_startup(handshake)
    assert handshake.on_response(protocol.ReadyMessage()).framing == Framing(segments=True)


def test_v5_auth_response_already_travels_in_segments():
    # v5 spec 2.2: AUTHENTICATE is the last legacy frame; AUTH_RESPONSE is the first segment.
    handshake = make(5, authenticator_factory=PlainTextAuthProvider("u", "p").new_authenticator)
    to_startup(handshake, "lz4")
    step = handshake.on_response(protocol.AuthenticateMessage("PasswordAuthenticator"))
    assert step.framing == Framing(compression="lz4", segments=True)
    done = handshake.on_response(protocol.AuthSuccessMessage(None))
    assert done.framing == Framing(compression="lz4", segments=True)


def test_v4_auth_response_is_compressed():
    handshake = make(4, authenticator_factory=PlainTextAuthProvider("u", "p").new_authenticator)
    to_startup(handshake, "lz4")
    step = handshake.on_response(protocol.AuthenticateMessage("PasswordAuthenticator"))
    assert step.framing == Framing("lz4", lz4_c, lz4_d, False)


def test_v4_and_v3_never_use_segments():
    for version in (3, 4):
        handshake = make(version)
        to_startup(handshake, "lz4")
        assert handshake.on_response(protocol.ReadyMessage()).framing.segments is False


# ---------------------------------------------------------------------------------------------- auth

def test_authentication_required_without_a_provider_is_a_clear_error():
    handshake = make()
    to_startup(handshake)
    with pytest.raises(AuthenticationFailed) as info:
        handshake.on_response(protocol.AuthenticateMessage(
            "org.apache.cassandra.auth.PasswordAuthenticator"))
    assert "10.0.0.7:9042" in str(info.value) and "PasswordAuthenticator" in str(info.value)
    assert "no auth_provider" in str(info.value)
    assert handshake.state == "failed"


def test_plain_text_authentication_succeeds():
    asked = []
    provider = PlainTextAuthProvider("alice", PASSWORD)

    def factory(address):
        asked.append(address)
        return provider.new_authenticator(address)
    handshake = make(authenticator_factory=factory)
    to_startup(handshake)
    step = handshake.on_response(protocol.AuthenticateMessage(
        "org.apache.cassandra.auth.PasswordAuthenticator"))
    assert asked == ["10.0.0.7"]
    assert step.message.opcode == _wire.OPCODE_AUTH_RESPONSE
    token = b"\x00alice\x00" + PASSWORD.encode()
    assert step.message.response == token
    # spec 4.1.2 AUTH_RESPONSE: the body is the token as [bytes].
    assert encode(step.message)[9:] == struct.pack(">i", len(token)) + token
    assert handshake.authenticator.server_authenticator_class.endswith("PasswordAuthenticator")
    done = handshake.on_response(protocol.AuthSuccessMessage(None))
    assert isinstance(done, Done) and done.result.authenticator is handshake.authenticator
    assert handshake.state == "done"


def test_wrong_credentials_fail_without_showing_the_password():
    handshake = make(authenticator_factory=PlainTextAuthProvider("alice", PASSWORD).new_authenticator)
    to_startup(handshake)
    step = handshake.on_response(protocol.AuthenticateMessage("PasswordAuthenticator"))
    with pytest.raises(AuthenticationFailed) as info:
        handshake.on_response(error(_wire.ERR_BAD_CREDENTIALS,
                                    "Provided username alice and/or password are incorrect"))
    assert "password are incorrect" in str(info.value)
    shown = [str(info.value), repr(info.value), repr(handshake), repr(step), repr(step.message)]
    assert not [text for text in shown if PASSWORD in text], shown
    assert handshake.state == "failed"
    with pytest.raises(RuntimeError, match="failed"):
        handshake.on_response(protocol.AuthSuccessMessage(None))


def test_another_error_while_authenticating_is_an_authentication_failure():
    handshake = make(authenticator_factory=PlainTextAuthProvider("a", "b").new_authenticator)
    to_startup(handshake)
    handshake.on_response(protocol.AuthenticateMessage("PasswordAuthenticator"))
    with pytest.raises(AuthenticationFailed, match="Failed to authenticate to 10.0.0.7:9042.*boom"):
        handshake.on_response(error(_wire.ERR_SERVER_ERROR, "boom"))


class CountingSasl:
    """A SASL exchange of three rounds: each challenge is answered with its own reversal."""

    def __init__(self):
        self.challenges = []
        self.success = None

    def initial_response(self):
        return b"hello"

    def evaluate_challenge(self, challenge):
        self.challenges.append(challenge)
        return challenge[::-1]

    def on_authentication_success(self, token):
        self.success = token


def test_sasl_exchange_of_several_challenges():
    sasl = CountingSasl()
    handshake = make(authenticator_factory=lambda address: sasl)
    to_startup(handshake)
    first = handshake.on_response(protocol.AuthenticateMessage("com.example.Sasl"))
    assert first.message.response == b"hello"
    second = handshake.on_response(protocol.AuthChallengeMessage(b"abc"))
    third = handshake.on_response(protocol.AuthChallengeMessage(b"xyz1"))
    assert (second.message.response, third.message.response) == (b"cba", b"1zyx")
    done = handshake.on_response(protocol.AuthSuccessMessage(b"final-token"))
    assert isinstance(done, Done)
    assert sasl.challenges == [b"abc", b"xyz1"] and sasl.success == b"final-token"


def test_an_authenticator_that_raises_ends_the_handshake():
    class Refusing(CountingSasl):
        def evaluate_challenge(self, challenge):
            raise AuthenticationFailed("cannot answer %r" % challenge)
    handshake = make(authenticator_factory=lambda address: Refusing())
    to_startup(handshake)
    handshake.on_response(protocol.AuthenticateMessage("com.example.Sasl"))
    with pytest.raises(AuthenticationFailed, match="cannot answer"):
        handshake.on_response(protocol.AuthChallengeMessage(b"?"))
    assert handshake.state == "failed"


def test_auth_response_repr_hides_the_token():
    message = protocol.AuthResponseMessage(b"\x00alice\x00" + PASSWORD.encode())
    assert PASSWORD not in repr(message) and "18 bytes" in repr(message)
    assert "null" in repr(protocol.AuthResponseMessage(None))


# ---------------------------------------------------------------------------------------------- unexpected answers

@pytest.mark.parametrize("answer", [protocol.ReadyMessage(), protocol.AuthSuccessMessage(b"t")])
def test_an_unexpected_answer_to_options(answer):
    handshake = make()
    handshake.start()
    with pytest.raises(ConnectionException, match="Unexpected answer to OPTIONS from 10.0.0.7:9042: "
                                                  + answer.name) as info:
        handshake.on_response(answer)
    assert not isinstance(info.value, ProtocolVersionUnsupported)
    assert info.value.endpoint is ENDPOINT


def test_an_unexpected_answer_to_startup():
    handshake = make()
    to_startup(handshake)
    with pytest.raises(ConnectionException, match="Unexpected answer to STARTUP.*SUPPORTED"):
        handshake.on_response(supported())


def test_an_unexpected_answer_while_authenticating():
    handshake = make(authenticator_factory=lambda address: CountingSasl())
    to_startup(handshake)
    handshake.on_response(protocol.AuthenticateMessage("com.example.Sasl"))
    with pytest.raises(ConnectionException, match="Unexpected answer to AUTH_RESPONSE.*READY"):
        handshake.on_response(protocol.ReadyMessage())


def test_an_answer_after_done_is_refused():
    handshake = make()
    to_startup(handshake)
    handshake.on_response(protocol.ReadyMessage())
    with pytest.raises(RuntimeError, match="done"):
        handshake.on_response(protocol.ReadyMessage())


# ---------------------------------------------------------------------------------------------- server errors

@pytest.mark.parametrize("message", [
    "Invalid or unsupported protocol version (5); supported versions are (3/v3, 4/v4)",
    "Beta version of the protocol used (5/v5-beta), but USE_BETA flag is unset",
])
def test_a_version_rejection_at_startup_lets_the_caller_downgrade(message):
    handshake = make(5)
    to_startup(handshake)
    with pytest.raises(ProtocolVersionUnsupported) as info:
        handshake.on_response(error(_wire.ERR_PROTOCOL_ERROR, message))
    assert info.value.startup_version == 5 and info.value.endpoint is ENDPOINT
    assert ProtocolVersion.get_lower_supported(info.value.startup_version) == 4


def test_a_version_rejection_of_options_lets_the_caller_downgrade():
    handshake = make(5)
    handshake.start()
    with pytest.raises(ProtocolVersionUnsupported):
        handshake.on_response(error(_wire.ERR_PROTOCOL_ERROR, "Invalid or unsupported protocol version (5)"))


def test_another_error_at_startup_is_a_connection_error_naming_it():
    handshake = make()
    to_startup(handshake)
    with pytest.raises(ConnectionException) as info:
        handshake.on_response(error(_wire.ERR_SERVER_ERROR, "disk on fire"))
    assert not isinstance(info.value, ProtocolVersionUnsupported)
    assert "STARTUP failed on 10.0.0.7:9042" in str(info.value) and "disk on fire" in str(info.value)
    assert isinstance(info.value.__cause__, protocol.ServerError)


def test_another_error_at_options_is_a_connection_error():
    handshake = make()
    handshake.start()
    with pytest.raises(ConnectionException, match="OPTIONS failed.*overloaded"):
        handshake.on_response(error(_wire.ERR_OVERLOADED, "overloaded"))


# ---------------------------------------------------------------------------------------------- transport failures

@pytest.mark.parametrize("failure", [ProtocolError("bad frame header"),
                                     ConnectionException("closed", ENDPOINT)])
def test_a_transport_failure_answering_options_above_v3_is_a_version_rejection(failure):
    handshake = make(4)
    handshake.start()
    with pytest.raises(ProtocolVersionUnsupported) as info:
        handshake.on_connection_error(failure)
    assert info.value.startup_version == 4 and info.value.__cause__ is failure


def test_a_transport_failure_answering_options_at_v3_is_raised_as_is():
    failure = ConnectionException("closed", ENDPOINT)
    handshake = make(3)
    handshake.start()
    with pytest.raises(ConnectionException) as info:
        handshake.on_connection_error(failure)
    assert info.value is failure


def test_a_transport_failure_after_options_is_raised_as_is():
    failure = ProtocolError("bad frame")
    handshake = make(5)
    to_startup(handshake)
    with pytest.raises(ProtocolError) as info:
        handshake.on_connection_error(failure)
    assert info.value is failure and handshake.state == "failed"


def test_any_other_failure_is_raised_as_is():
    failure = OSError("reset")
    handshake = make(5)
    handshake.start()
    with pytest.raises(OSError) as info:
        handshake.on_connection_error(failure)
    assert info.value is failure
