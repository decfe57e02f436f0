"""Home's shipped cards (explorer/classic_cards.json) are what the registry and analyze() give today."""

from __future__ import annotations

from explorer import classic_cards


def test_the_shipped_cards_equal_the_registry_and_the_analysis():
    # Fails when a classic's spec or count changes without the file being rewritten:
    # run `python -m explorer.classic_cards` and commit explorer/classic_cards.json.
    assert classic_cards.load() == classic_cards.compute()


def test_the_cards_are_the_classics_in_time_order_with_their_inputs():
    cards = classic_cards.load()
    assert [card.year for card in cards] == sorted(card.year for card in cards)
    lenet = next(card for card in cards if card.name == "lenet5")
    assert lenet.input_shape == (1, 1, 32, 32) and lenet.total_params == 61_706
