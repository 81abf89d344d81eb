"""The MES adapter: canonical events to the MES over AMQP, and the MES's feedback back in."""
