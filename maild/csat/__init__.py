"""Customer satisfaction: surveys by mail after a ticket is resolved or closed, and the
ratings they bring back by a one-click link or by a reply."""
