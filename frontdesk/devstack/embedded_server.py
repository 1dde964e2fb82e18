"""Entry point of `frontdesk dev`'s web child: `python -m frontdesk.devstack.embedded_server`."""

from frontdesk.config import get_settings
from frontdesk.devstack.servers import serve_embedded
from frontdesk.logs import configure_logging


def main() -> None:
    """Serve the API and the media server in one process, configured from the environment."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json, settings.secret_key.get_secret_value())
    serve_embedded(settings)


if __name__ == "__main__":
    main()
