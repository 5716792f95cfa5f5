"""Made-up but deterministic weather, so the example runs anywhere without a network."""

import hashlib


def get_weather(city: str) -> dict:
    digest = hashlib.sha256(city.lower().encode()).digest()
    conditions = ["sunny", "cloudy", "rainy", "windy", "snowy"][digest[0] % 5]
    return {"city": city, "conditions": conditions, "temp_c": digest[1] % 35 - 5}
