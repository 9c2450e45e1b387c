"""A local Slack emulator: Web API, Socket Mode and Events API delivery on 127.0.0.1.

The real slack_sdk / slack_bolt code talks to it unchanged (`AsyncWebClient(base_url=sim.api_url)`).
"""

from sim.slack.delivery import Delivered, DeliveryError
from sim.slack.emulator import SlackEmulator
from sim.slack.webapi import Call

__all__ = ["Call", "Delivered", "DeliveryError", "SlackEmulator"]
