"""What is said: SMS, email and public texts, replies, the pages' words, unsubscribe links."""
