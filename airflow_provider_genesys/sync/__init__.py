"""The CRM sync engine: which records to deliver, their payloads, the delivery run and its receipts."""
