import asyncio

from arq.worker import create_worker

from app.core.logging import configure_logging
from app.settings import get_settings
from workers import worker_settings


def main() -> None:
    s = get_settings()
    configure_logging(s.log_level, s.log_json)
    asyncio.set_event_loop(asyncio.new_event_loop())
    worker = create_worker(worker_settings())
    worker.run()


if __name__ == "__main__":
    main()
