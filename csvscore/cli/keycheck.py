"""Before the review: is there an API key, does TitanX accept it, can TitanX be reached?

A person who goes through the whole review and says yes to the cost should not learn only then
that this computer has no key. One cheap authenticated GET (:meth:`TitanXClient.check_key`)
answers all three questions; each failure is one message with the next step, and nothing has
been asked or sent yet. Anything else TitanX answers (a busy server, a rate limit) does not stop
the run here: sending handles it, with its own retries and messages.
"""

from __future__ import annotations

from collections.abc import Mapping

from csvscore.errors import ApiError, AuthError, NetworkError

NO_KEY = (
    "This computer has no TitanX API key yet, so nothing can be scored. Ask your IT contact to "
    "run `csvscore login` (or set TITANX_API_KEY). Nothing was sent."
)
REFUSED = (
    "TitanX refused the API key ({source}). Ask your IT contact to run `csvscore login` to "
    "enter a new one. Nothing was sent."
)
UNREACHABLE = "{problem} Check your internet connection or VPN, then try again. Nothing was sent."
WRONG_ADDRESS = (
    "{problem}. The TitanX address looks wrong: ask your IT contact to check it "
    "(TITANX_BASE_URL or --base-url). Nothing was sent."
)


def base_url_for(given: str | None, env: Mapping[str, str]) -> str:
    """The API address: ``--base-url``, else TITANX_BASE_URL, else TitanX's own."""
    from csvscore.api.client import DEFAULT_BASE_URL

    return given or env.get("TITANX_BASE_URL") or DEFAULT_BASE_URL


def check_key(base_url: str | None, env: Mapping[str, str]) -> None:
    """Raise a one-line error, with the next step, if scoring cannot work with this key."""
    from csvscore.api.client import TitanXClient
    from csvscore.api.errors import UnexpectedResponse
    from csvscore.user import credentials

    try:
        key, source = credentials.resolve_api_key(env=env)
    except AuthError:
        raise AuthError(NO_KEY) from None
    # One quick retry: a person is waiting, and a network that is down stays down.
    with TitanXClient(
        key, base_url_for(base_url, env), connect_timeout=10, max_retries=1
    ) as client:
        try:
            client.check_key()
        except AuthError:
            raise AuthError(REFUSED.format(source=source)) from None
        except NetworkError as exc:
            raise NetworkError(UNREACHABLE.format(problem=exc.message)) from None
        except UnexpectedResponse as exc:
            status = exc.status or 0
            # No such endpoint, a redirect, or an answer that is no API's (a web page, 200 but
            # not JSON): the address is wrong.
            if status < 400 or status in (404, 405):
                raise ApiError(
                    WRONG_ADDRESS.format(problem=exc.message.rstrip(".").split("; check")[0])
                ) from None
        except ApiError:
            pass
