-- Hindsight schema, version 6: run names beside uids.
--
-- A name prefix that most records share (`data.metadata.name.startsWith(
-- "build-")`) is answered by walking the list in uid order and testing each
-- row's name, because collecting every match and sorting it costs more.
-- The name is a VIRTUAL column of the 12 KB document, so each test read the
-- whole row (~15 microseconds). This index holds it beside the uid: the translator
-- (src/store/filter/translate.ts) tests each row with one seek here instead.
CREATE INDEX records_uid_name ON records (uid, g_name);
