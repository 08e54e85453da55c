"""What notices say: the texts of SMS, email and the public documents, in every shipped language."""
