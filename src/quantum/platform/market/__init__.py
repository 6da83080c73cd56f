"""Market data for signed-in users: the stock listing (cached, searchable), quotes,
order books and charts, every Kiwoom call attributed to the caller."""

from quantum.platform.market.listing import ListingCache, Listings, SearchResult, search_listings
from quantum.platform.market.service import MarketService, StockQuote

__all__ = [
    "ListingCache",
    "Listings",
    "MarketService",
    "SearchResult",
    "StockQuote",
    "search_listings",
]
