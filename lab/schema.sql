-- Campaign lab schema (documented Campaign table/column names; a small subset of columns).
-- folders are XtkFolder (configuration/using/data-model-description.md)
CREATE TABLE XtkFolder (iFolderId integer PRIMARY KEY, sName text NOT NULL, sLabel text);
CREATE TABLE NmsRecipient (
  iRecipientId integer PRIMARY KEY,
  sEmail text, iFolderId integer REFERENCES XtkFolder(iFolderId),
  sFirstName text, sLastName text, sCompany text,
  tsCreated timestamptz NOT NULL DEFAULT now(), tsLastModified timestamptz NOT NULL DEFAULT now());
CREATE SEQUENCE NmsRecipient_seq START 1001;
CREATE TABLE NmsDelivery (
  iDeliveryId integer PRIMARY KEY, sInternalName text, sLabel text,
  iState integer NOT NULL, iToDeliver integer NOT NULL DEFAULT 0, iSent integer NOT NULL DEFAULT 0,
  tsCreated timestamptz NOT NULL DEFAULT now(), tsLastModified timestamptz NOT NULL DEFAULT now());
CREATE TABLE XtkWorkflow (
  iWorkflowId integer PRIMARY KEY, sInternalName text UNIQUE NOT NULL, sLabel text,
  iState integer NOT NULL, iFailed integer NOT NULL DEFAULT 0, sErrorMessage text,
  tsLastStart timestamptz, tsLastRun timestamptz, tsLastSuccess timestamptz);
CREATE TABLE XtkWorkflowJob (
  iWorkflowJobId serial PRIMARY KEY, iWorkflowId integer NOT NULL REFERENCES XtkWorkflow(iWorkflowId),
  sCommand text NOT NULL, iStatus integer NOT NULL DEFAULT 0,
  tsCreated timestamptz NOT NULL DEFAULT now(), tsProcessed timestamptz);
CREATE TABLE NmsTrackingLogRcp (
  iTrackingLogId bigint PRIMARY KEY, iDeliveryId integer, iRecipientId integer, iUrlId integer,
  tsLog timestamptz, sSourceId text);
-- delivery logs: iStatus as Adobe names them (database-cleanup-workflow.md): 6 Pending, 7 Delivery
-- cancelled; 1 Sent (the lab's value for a message handed over to the MTA's relay); tsLastModified is set
-- with each status change (the cleanup workflow's own UPDATE does so, same page)
CREATE TABLE NmsBroadLogRcp (
  iBroadLogId bigserial PRIMARY KEY, iDeliveryId integer NOT NULL, iRecipientId integer NOT NULL,
  iStatus integer NOT NULL, tsLastModified timestamptz NOT NULL DEFAULT now());
CREATE TABLE NmsService (iServiceId integer PRIMARY KEY, sName text NOT NULL, sLabel text);
CREATE TABLE NmsSubscription (
  iRecipientId integer NOT NULL, iServiceId integer NOT NULL, tsCreated timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (iRecipientId, iServiceId));
-- subscription history (iAction 0 unsubscription, 1 subscription, on tsDate), groups and the recipient-group
-- relation (iRecipientId, iGroupId): configuration/using/data-model-description.md
CREATE TABLE NmsSubHisto (
  iRecipientId integer NOT NULL, iServiceId integer NOT NULL, iAction integer NOT NULL,
  tsDate timestamptz NOT NULL DEFAULT now());
CREATE TABLE NmsGroup (iGroupId integer PRIMARY KEY, sName text UNIQUE NOT NULL, sLabel text);
CREATE TABLE NmsRcpGrpRel (iRecipientId integer NOT NULL, iGroupId integer NOT NULL, PRIMARY KEY (iRecipientId, iGroupId));
-- external accounts; the lab's bounce mailbox (POP3) is the 'defaultPopAccount' row, written by `lab up`
CREATE TABLE NmsExtAccount (
  iExtAccountId integer PRIMARY KEY, sName text UNIQUE NOT NULL, sLabel text, iType integer NOT NULL,
  sServer text, iPort integer, sAccount text, sPassword text, iDisabled integer NOT NULL DEFAULT 0);
-- operators who may log on through xtk:session#Logon (the lab's web checks sPassword:
-- sha256:<salt>:<hex of sha256(salt || password)>); `lab up` adds the monitoring operator
CREATE TABLE XtkOperator (iOperatorId integer PRIMARY KEY, sName text UNIQUE NOT NULL, sLabel text, sPassword text);
-- options (installation/using/configuring-campaign-options.md), read with getOption("<name>"): XtkOption,
-- sName and sStringValue as production/using/switching-to-unicode.md writes them; iLongValue and
-- tsTimeStampValue (a date option) are the lab's. NmsTracking_ServerUrlList (the host's front web server)
-- is written by `lab up`; the tracking run sets NmsTracking_LastConsolidation.
CREATE TABLE XtkOption (sName text PRIMARY KEY, sStringValue text, iLongValue integer, tsTimeStampValue timestamptz);
INSERT INTO XtkOption (sName, tsTimeStampValue) VALUES ('NmsTracking_LastConsolidation', now());
INSERT INTO XtkFolder VALUES (1, 'nmsRootRecipient', 'Recipients'), (2, 'prospects', 'Prospects');
INSERT INTO NmsRecipient (iRecipientId, sEmail, iFolderId, sFirstName, sLastName, sCompany, tsCreated)
  SELECT i, 'user' || i || '@example.com', CASE WHEN i <= 120 THEN 1 ELSE 2 END,
         (ARRAY['Anna','Ben','Chloe','David','Emma','Felix','Greta','Hugo'])[1 + i % 8],
         (ARRAY['Martin','Schmidt','Dubois','Rossi','Smith','Garcia','Novak'])[1 + i % 7],
         'Company ' || (1 + i % 17), now() - (i || ' days')::interval
  FROM generate_series(1, 200) AS i;
-- NmsDelivery.iState as Adobe names them: 51 Start pending, 55 In progress, 61, 62, 71, 72, 75 Paused,
-- 85 Stopped, 95 Finished. DM3 is waiting for the mta at set-up (a mid-sourced host marks it finished).
INSERT INTO NmsDelivery (iDeliveryId, sInternalName, sLabel, iState, iToDeliver, iSent) VALUES
  (1, 'DM1', 'Welcome newsletter', 95, 120, 120),
  (2, 'DM2', 'Spring offer', 95, 80, 80),
  (3, 'DM3', 'Monthly digest', 51, 200, 0);
INSERT INTO NmsBroadLogRcp (iDeliveryId, iRecipientId, iStatus, tsLastModified)
  SELECT 1, i, 1, now() - interval '20 days' FROM generate_series(1, 120) AS i
  UNION ALL SELECT 2, i, 1, now() - interval '10 days' FROM generate_series(121, 200) AS i
  UNION ALL SELECT 3, i, 6, now() FROM generate_series(1, 200) AS i;
INSERT INTO NmsService VALUES (1, 'newsletter', 'Newsletter');
INSERT INTO NmsSubscription (iRecipientId, iServiceId) SELECT i, 1 FROM generate_series(1, 200, 3) AS i;
INSERT INTO NmsSubHisto (iRecipientId, iServiceId, iAction) SELECT i, 1, 1 FROM generate_series(1, 200, 3) AS i;
INSERT INTO NmsGroup VALUES (1, 'vip', 'VIP customers');
INSERT INTO NmsRcpGrpRel (iRecipientId, iGroupId) SELECT i, 1 FROM generate_series(5, 200, 10) AS i;
-- XtkWorkflow.iState: 11 started (a recurring workflow between two runs), 13 paused, 20 finished (Adobe:
-- "Status 20 = stop"), 0 being edited (never started); iFailed 1 = in error (supervising-workflows.md).
INSERT INTO XtkWorkflow (iWorkflowId, sInternalName, sLabel, iState, tsLastRun, tsLastSuccess) VALUES
  (1, 'tracking', 'Tracking', 11, now(), now()),
  (2, 'exportRecipients', 'Export recipients (daily delta)', 0, NULL, NULL),
  (3, 'importRecipients', 'Import recipients (CRM)', 20, now() - interval '1 day', now() - interval '1 day'),
  (4, 'exportRecipientsFull', 'Export recipients (full, on demand)', 20, now() - interval '7 days',
   now() - interval '7 days');
-- the first export run is requested at set-up; the running wfserver executes it
INSERT INTO XtkWorkflowJob (iWorkflowId, sCommand) VALUES (2, 'start');
GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO PUBLIC;
