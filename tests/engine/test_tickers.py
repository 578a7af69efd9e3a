import pytest

from engine.tickers import extract_tickers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("$AAPL beats, $msft lags", ("AAPL", "MSFT")),
        ("$CCL $RCL - Nomura points to weakness", ("CCL", "RCL")),
        ("Berkshire $BRK.B adds stake", ("BRK.B",)),
        ("IBM (NYSE: IBM) and Apple (NASDAQ:AAPL) rally", ("IBM", "AAPL")),
        ("Revenue of $5.2bn and a $100 target", ()),
        ("$AAPL again $AAPL", ("AAPL",)),
        ("no tickers here", ()),
    ],
)
def test_extract_tickers(text: str, expected: tuple[str, ...]) -> None:
    assert extract_tickers(text) == expected
