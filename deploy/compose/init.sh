#!/bin/sh
# One-shot setup for deploy/compose.yaml: migrate, create the signing key every instance
# shares, register the demo holder, service and resident. Safe to run again.
set -eu
aiguillage migrate
python -c 'from broker.crypto import Signer; from broker.settings import Settings; Signer.load_or_create(Settings().signing_key_path)'
aiguillage holders add /etc/aiguillage/holder-enedis.json || echo "holder already registered"
aiguillage services add /etc/aiguillage/service-carbon-coach.json --approve || echo "service already registered"
echo 'linky-lyon-2024' | aiguillage residents add camille@example.fr 'Camille Martin' || echo "resident already there"
